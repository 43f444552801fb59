package dev.panda.pmd.virtio.vduse;

import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.DeviceSpec;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortDriver;
import dev.panda.jextract.NativeException;
import dev.panda.pmd.virtio.ring.SplitRing;
import java.util.Locale;
import java.util.Set;

/**
 * {@code net_vduseN[,name=NAME][,mac=MAC][,queue_size=256][,attach=virtio|vhost|none]}: panda as a
 * VDUSE virtio-net device on the kernel's vDPA bus (one queue pair). {@code name} is the device's
 * (default {@code vduseN}), {@code attach} the bus driver bound to it ({@code virtio}: the kernel's
 * virtio_net, an ordinary interface; {@code vhost}: /dev/vhost-vdpa-M; {@code none}: created, not
 * added to the bus).
 */
public final class VdusePortDriver implements PortDriver {

    static final String NAME = "net_vduse";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "VDUSE virtio-net device on the kernel's vDPA bus (attach=virtio: a kernel interface; vhost: /dev/vhost-vdpa-N)";
    }

    @Override
    public Set<String> keys() {
        return Set.of("name", "mac", "queue_size", "attach");
    }

    @Override
    public Port open(DeviceSpec spec, PortContext ctx) {
        String cause = Vduse.unavailabilityCause();
        if (cause != null) {
            throw new DeviceException("device '" + spec.name() + "': " + cause);
        }
        String suffix = spec.name().substring(NAME.length());
        String device = spec.get("name", "vduse" + suffix);
        if (device.isEmpty() || device.length() > 64 || !device.matches("[A-Za-z0-9_.-]+")) {
            throw new DeviceException("device '" + spec.name() + "': name=" + device
                    + " is not a device name (letters, digits, _ . -, at most 64)");
        }
        long mac = spec.getMac("mac", 0x02_70_6e_00_d5_00L | (ctx.portId() & 0xff));
        int queueSize = spec.getInt("queue_size", 256, 2, 32768);
        if (!SplitRing.isValidSize(queueSize)) {
            throw new DeviceException(
                    "device '" + spec.name() + "': queue_size=" + queueSize + " is not a power of two");
        }
        VdusePort.Attach attach;
        try {
            attach = VdusePort.Attach.valueOf(spec.get("attach", "virtio").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new DeviceException("device '" + spec.name() + "': attach= takes virtio, vhost or none");
        }
        try {
            return new VdusePort(spec.name(), ctx.pool(), ctx.portId(), device, mac, queueSize, attach);
        } catch (NativeException | IllegalStateException | IllegalArgumentException e) {
            throw new DeviceException(
                    "device '" + spec.name() + "': cannot create VDUSE device " + device + ": " + e.getMessage(), e);
        }
    }
}
