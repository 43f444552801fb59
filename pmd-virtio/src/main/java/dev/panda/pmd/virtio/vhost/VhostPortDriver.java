package dev.panda.pmd.virtio.vhost;

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
 * {@code net_vhostN,iface=PATH[,queues=1][,client=0]}: a vhost-user back-end listening on PATH
 * (server mode), as DPDK's vhost PMD. A VM (QEMU {@code -chardev socket,path=PATH}) or a
 * virtio-user process ({@code net_virtio_user0,path=PATH}) connects as the front-end.
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
        return "vhost-user back-end (server mode) on iface=PATH, for VMs and virtio-user";
    }

    @Override
    public Set<String> keys() {
        return Set.of("iface", "queues", "client", "mrg_rxbuf", "event_idx", "indirect");
    }

    @Override
    public Port open(DeviceSpec spec, PortContext ctx) {
        String iface = spec.get("iface");
        if (iface == null || iface.isEmpty()) {
            throw new DeviceException("device '" + spec.name() + "' needs iface=PATH (the vhost-user socket to listen on)");
        }
        if (spec.getBool("client", false)) {
            throw new DeviceException("device '" + spec.name() + "': client mode not implemented yet "
                    + "(net_vhost listens on iface as the server; drop client=1)");
        }
        int queues = spec.getInt("queues", Math.max(1, Math.max(ctx.rxQueues(), ctx.txQueues())), 1, MAX_QUEUES);
        Path path = Path.of(iface);
        if (Files.exists(path)) {
            throw new DeviceException("device '" + spec.name() + "': iface " + iface
                    + " already exists (another back-end, or a stale socket to remove)");
        }
        try {
            // offered ring and net features, each on by default; =0 takes it out of GET_FEATURES
            long withheld = (spec.getBool("mrg_rxbuf", true) ? 0 : VhostBackend.F_MRG_RXBUF)
                    | (spec.getBool("event_idx", true) ? 0 : VhostBackend.F_EVENT_IDX)
                    | (spec.getBool("indirect", true) ? 0 : VhostBackend.F_INDIRECT_DESC);
            return new VhostPort(spec.name(), ctx.pool(), ctx.portId(), queues, path, withheld);
        } catch (NativeException | IllegalArgumentException e) {
            throw new DeviceException("device '" + spec.name() + "': cannot listen on " + iface + ": " + e.getMessage(), e);
        }
    }
}
