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
 * {@code net_vduseN[,name=NAME][,mac=MAC][,queue_size=256][,attach=virtio|vhost|none][,event_idx=1][,mrg_rxbuf=1]}:
 * panda as a
 * VDUSE virtio-net device on the kernel's vDPA bus (one queue pair). {@code name} is the device's
 * (default {@code vduseN}), {@code attach} the bus driver bound to it ({@code virtio}: the kernel's
 * virtio_net, an ordinary interface; {@code vhost}: /dev/vhost-vdpa-M; {@code none}: created, not
 * added to the bus). {@code event_idx=0} and {@code mrg_rxbuf=0} leave VIRTIO_F_EVENT_IDX and
 * VIRTIO_NET_F_MRG_RXBUF out of the offer (both offered by default). {@code irq_cpumask=HEX}
 * (attach=virtio) sets the CPUs the kernel runs the vrings' interrupt work on (VDUSE's
 * {@code irq_cb_affinity}): keep it off the pollers' CPUs.
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
        return Set.of("name", "mac", "queue_size", "attach", "event_idx", "mrg_rxbuf", "irq_cpumask");
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
        long offered = VduseDevice.BASE
                | (spec.getBool("event_idx", true) ? VduseDevice.F_EVENT_IDX : 0)
                | (spec.getBool("mrg_rxbuf", true) ? VduseDevice.F_MRG_RXBUF : 0);
        VdusePort.Attach attach;
        try {
            attach = VdusePort.Attach.valueOf(spec.get("attach", "virtio").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new DeviceException("device '" + spec.name() + "': attach= takes virtio, vhost or none");
        }
        long irqCpumask = 0;
        String mask = spec.get("irq_cpumask", null);
        if (mask != null) {
            try {
                irqCpumask = Long.parseUnsignedLong(mask.startsWith("0x") ? mask.substring(2) : mask, 16);
            } catch (NumberFormatException e) {
                irqCpumask = 0;
            }
            if (irqCpumask == 0) {
                throw new DeviceException("device '" + spec.name() + "': irq_cpumask=" + mask
                        + " is not a non-zero hex CPU mask (e.g. 0x1)");
            }
            if (attach != VdusePort.Attach.VIRTIO) {
                throw new DeviceException("device '" + spec.name()
                        + "': irq_cpumask= places the kernel driver's interrupt work: it needs attach=virtio");
            }
        }
        try {
            return new VdusePort(
                    spec.name(), ctx.pool(), ctx.portId(), device, mac, queueSize, offered, attach, irqCpumask);
        } catch (NativeException | IllegalStateException | IllegalArgumentException e) {
            throw new DeviceException(
                    "device '" + spec.name() + "': cannot create VDUSE device " + device + ": " + e.getMessage(), e);
        }
    }
}
