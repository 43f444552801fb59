package dev.panda.pmd.virtio.virtiouser;

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
 * {@code net_virtio_userN,path=PATH[,queues=1][,queue_size=256][,server=0]}: the virtio driver of
 * a vhost-user back-end, as DPDK's virtio-user. By default panda connects to a back-end listening
 * on PATH (and the open fails if none is); with {@code server=1} panda listens on PATH and the
 * back-end connects (DPDK's {@code net_vhost} with {@code client=1}). Either way a back-end that
 * goes away is waited for (reconnecting with backoff in client mode) and set up again. The
 * back-end may be DPDK's {@code net_vhost}, panda's own, or any vhost-user net device.
 */
public final class VirtioUserDriver implements PortDriver {

    static final String NAME = "net_virtio_user";
    static final int MAX_QUEUES = 8;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "virtio-user front-end on path=PATH (connects; server=1 listens), zero copy from the packet pool";
    }

    @Override
    public Set<String> keys() {
        return Set.of("path", "queues", "queue_size", "server");
    }

    @Override
    public Port open(DeviceSpec spec, PortContext ctx) {
        String path = spec.get("path");
        if (path == null || path.isEmpty()) {
            throw new DeviceException(
                    "device '" + spec.name() + "' needs path=PATH (the vhost-user socket to connect to)");
        }
        boolean server = spec.getBool("server", false);
        if (server && Files.exists(Path.of(path))) {
            throw new DeviceException("device '" + spec.name() + "': path " + path
                    + " already exists (another listener, or a stale socket to remove)");
        }
        int queues = spec.getInt("queues", Math.max(1, Math.max(ctx.rxQueues(), ctx.txQueues())), 1, MAX_QUEUES);
        int size = spec.getInt("queue_size", 256, 2, 32768);
        if (Integer.bitCount(size) != 1) {
            throw new DeviceException("device '" + spec.name() + "': queue_size " + size
                    + " is not a power of two (2..32768, virtio 1.2 §2.7)");
        }
        try {
            return new VirtioUserPort(spec.name(), ctx.pool(), ctx.portId(), queues, size, Path.of(path), server);
        } catch (NativeException | IllegalArgumentException | VhostUserClient.VhostUserClientException e) {
            throw new DeviceException(
                    "device '" + spec.name() + "': cannot start virtio-user on " + path + ": " + e.getMessage(), e);
        }
    }
}
