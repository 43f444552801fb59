package dev.panda.pmd.virtio.vhost;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_EVENT_IDX;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_INDIRECT_DESC;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_IN_ORDER;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MRG_RXBUF;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_RING_PACKED;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;

import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.DeviceSpec;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortDriver;
import dev.panda.jextract.NativeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * {@code net_vhostN,iface=PATH[,queues=1][,client=0]}: a vhost-user back-end, as DPDK's vhost
 * PMD. Server mode listens on PATH: a VM (QEMU {@code -chardev socket,path=PATH}) or a
 * virtio-user process ({@code net_virtio_user0,path=PATH}) connects as the front-end. With
 * {@code client=1} panda connects to a front-end listening on PATH (QEMU
 * {@code -chardev socket,server=on}, DPDK {@code net_virtio_user0,path=PATH,server=1}) and
 * reconnects with backoff whenever it is not there or goes away.
 */
public final class VhostPortDriver implements PortDriver {

    static final String NAME = "net_vhost";
    /** Queue pairs a port may have (vrings 0..2*MAX-1). */
    static final int MAX_QUEUES = 8;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "vhost-user back-end on iface=PATH (listens; client=1 connects and reconnects), for VMs and virtio-user";
    }

    @Override
    public Set<String> keys() {
        return Set.of("iface", "queues", "client", "mrg_rxbuf", "event_idx", "indirect", "packed", "in_order");
    }

    @Override
    public Port open(DeviceSpec spec, PortContext ctx) {
        String iface = spec.get("iface");
        if (iface == null || iface.isEmpty()) {
            throw new DeviceException(
                    "device '" + spec.name() + "' needs iface=PATH (the vhost-user socket to listen on)");
        }
        boolean client = spec.getBool("client", false);
        int queues = spec.getInt("queues", Math.max(1, Math.max(ctx.rxQueues(), ctx.txQueues())), 1, MAX_QUEUES);
        Path path = Path.of(iface);
        if (!client && Files.exists(path)) {
            throw new DeviceException("device '" + spec.name() + "': iface " + iface
                    + " already exists (another back-end, or a stale socket to remove)");
        }
        try {
            // offered ring and net features, each on by default; =0 takes it out of GET_FEATURES
            long withheld = (spec.getBool("mrg_rxbuf", true) ? 0 : bit(F_MRG_RXBUF))
                    | (spec.getBool("event_idx", true) ? 0 : bit(F_EVENT_IDX))
                    | (spec.getBool("indirect", true) ? 0 : bit(F_INDIRECT_DESC))
                    | (spec.getBool("packed", true) ? 0 : bit(F_RING_PACKED))
                    | (spec.getBool("in_order", true) ? 0 : bit(F_IN_ORDER));
            return new VhostPort(spec.name(), ctx.pool(), ctx.portId(), queues, path, client, withheld);
        } catch (NativeException | IllegalArgumentException e) {
            throw new DeviceException(
                    "device '" + spec.name() + "': cannot " + (client ? "connect to " : "listen on ") + iface + ": "
                            + e.getMessage(),
                    e);
        }
    }
}
