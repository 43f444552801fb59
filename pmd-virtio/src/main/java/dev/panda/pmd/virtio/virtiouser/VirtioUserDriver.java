package dev.panda.pmd.virtio.virtiouser;

import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.DeviceSpec;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortDriver;
import dev.panda.jextract.NativeException;
import dev.panda.pmd.virtio.ring.VirtioFeatures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * {@code net_virtio_userN,path=PATH[,queues=1][,queue_size=256][,server=0][,packed_vq=0][,mrg_rxbuf=1][,in_order=0]}:
 * the virtio driver of
 * a vhost-user back-end, as DPDK's virtio-user. By default panda connects to a back-end listening
 * on PATH (and the open fails if none is); with {@code server=1} panda listens on PATH and the
 * back-end connects (DPDK's {@code net_vhost} with {@code client=1}). Either way a back-end that
 * goes away is waited for (reconnecting with backoff in client mode) and set up again. The
 * back-end may be DPDK's {@code net_vhost}, panda's own, or any vhost-user net device.
 *
 * <p>Two kernel devices on the same queues: {@code path=/dev/vhost-net[,iface=TAP]} (the kernel's
 * vhost-net, with the TAP TAP, default {@code vhost-N}, as its backend; {@link VhostNetTransport})
 * and {@code path=/dev/vhost-vdpa-M} (a vDPA device; {@link VhostVdpaTransport}), one queue pair
 * each, set up once when the port opens.
 *
 * <p>{@code packed_vq=1} (DPDK's devarg; default 0) also asks a vhost-user back-end for
 * VIRTIO_F_RING_PACKED: when it offers it the queues are packed (virtio 1.2 §2.8), else split.
 * {@code mrg_rxbuf=0} leaves VIRTIO_NET_F_MRG_RXBUF out of the negotiation; {@code in_order=1}
 * (with {@code packed_vq=1} only; default 0) asks for VIRTIO_F_IN_ORDER too. They are refused on
 * the kernel devices (the kernel's vhost-net has no packed rings).
 */
public final class VirtioUserDriver implements PortDriver {

    static final String NAME = "net_virtio_user";
    static final int MAX_QUEUES = 8;
    static final String VDPA_PREFIX = "/dev/vhost-vdpa-";

    /** Which device PATH names. */
    enum Kind {
        VHOST_USER,
        VHOST_NET,
        VHOST_VDPA;

        static Kind of(String path) {
            if (path.equals(VhostNetTransport.DEVICE)) {
                return VHOST_NET;
            }
            return path.startsWith(VDPA_PREFIX) ? VHOST_VDPA : VHOST_USER;
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "virtio driver on path=PATH: a vhost-user socket (connects; server=1 listens), /dev/vhost-net"
                + " (iface=TAP) or /dev/vhost-vdpa-N; zero copy from the packet pool";
    }

    @Override
    public Set<String> keys() {
        return Set.of("path", "queues", "queue_size", "server", "iface", "packed_vq", "mrg_rxbuf", "in_order");
    }

    @Override
    public Port open(DeviceSpec spec, PortContext ctx) {
        String path = spec.get("path");
        if (path == null || path.isEmpty()) {
            throw new DeviceException("device '" + spec.name()
                    + "' needs path=PATH (a vhost-user socket, /dev/vhost-net or /dev/vhost-vdpa-N)");
        }
        Kind kind = Kind.of(path);
        boolean server = spec.getBool("server", false);
        int size = spec.getInt("queue_size", 256, 2, 32768);
        if (Integer.bitCount(size) != 1) {
            throw new DeviceException("device '" + spec.name() + "': queue_size " + size
                    + " is not a power of two (2..32768, virtio 1.2 §2.7)");
        }
        boolean packed = spec.getBool("packed_vq", false);
        boolean mrg = spec.getBool("mrg_rxbuf", true);
        boolean inOrder = spec.getBool("in_order", false);
        if (inOrder && !packed) {
            throw new DeviceException("device '" + spec.name()
                    + "': in_order=1 goes with packed_vq=1 (panda's split rings do not run in order)");
        }
        if (kind != Kind.VHOST_USER) {
            if (packed) {
                throw new DeviceException("device '" + spec.name() + "': packed_vq=1 is for vhost-user sockets; " + path
                        + " is driven with split rings (the kernel's vhost-net has no packed ring support)");
            }
            if (!mrg) {
                throw new DeviceException(
                        "device '" + spec.name() + "': mrg_rxbuf=0 is for vhost-user sockets, not " + path);
            }
            return openKernel(spec, ctx, kind, path, server, size);
        }
        long optional = (mrg
                        ? VhostTransport.OPTIONAL
                        : VhostTransport.OPTIONAL & ~VirtioFeatures.bit(VirtioFeatures.F_MRG_RXBUF))
                | (packed ? VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED) : 0)
                | (inOrder ? VirtioFeatures.bit(VirtioFeatures.F_IN_ORDER) : 0);
        if (spec.get("iface") != null) {
            throw new DeviceException("device '" + spec.name() + "': iface= goes with path=/dev/vhost-net only");
        }
        if (server && Files.exists(Path.of(path))) {
            throw new DeviceException("device '" + spec.name() + "': path " + path
                    + " already exists (another listener, or a stale socket to remove)");
        }
        int queues = spec.getInt("queues", Math.max(1, Math.max(ctx.rxQueues(), ctx.txQueues())), 1, MAX_QUEUES);
        try {
            return VirtioUserPort.vhostUser(
                    spec.name(), ctx.pool(), ctx.portId(), queues, size, Path.of(path), server, optional);
        } catch (NativeException | IllegalArgumentException | VhostUserClient.VhostUserClientException e) {
            throw new DeviceException(
                    "device '" + spec.name() + "': cannot start virtio-user on " + path + ": " + e.getMessage(), e);
        }
    }

    private static Port openKernel(DeviceSpec spec, PortContext ctx, Kind kind, String path, boolean server, int size) {
        String name = spec.name();
        if (server) {
            throw new DeviceException("device '" + name + "': server=1 is for vhost-user sockets, not " + path);
        }
        int queues = spec.getInt("queues", 1, 1, MAX_QUEUES);
        if (queues != 1) {
            throw new DeviceException("device '" + name + "': " + path + " is driven with one queue pair (queues=1)");
        }
        if (kind == Kind.VHOST_VDPA && spec.get("iface") != null) {
            throw new DeviceException("device '" + name + "': iface= goes with path=/dev/vhost-net only");
        }
        try {
            VhostTransport t = kind == Kind.VHOST_NET
                    ? new VhostNetTransport(name, path, spec.get("iface", "vhost-" + ctx.portId()))
                    : new VhostVdpaTransport(name, path);
            long mac = t.mac() >= 0 ? t.mac() : VirtioUserPort.defaultMac(ctx.portId());
            return VirtioUserPort.kernel(name, ctx.pool(), ctx.portId(), size, mac, t);
        } catch (NativeException | IllegalArgumentException | IllegalStateException e) {
            throw new DeviceException("device '" + name + "': cannot drive " + path + ": " + e.getMessage(), e);
        }
    }
}
