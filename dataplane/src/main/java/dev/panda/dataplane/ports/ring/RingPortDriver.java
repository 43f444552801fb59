package dev.panda.dataplane.ports.ring;

import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.DeviceSpec;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortDriver;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code net_ringN[,size=1024][,queues=1][,peer=net_ringM][,count_bytes=1]}: in-process ring ports.
 *
 * <p>Without {@code peer} a ring port loops back (DPDK's behaviour); with it, the port and an
 * already open ring port are cross-connected into a pair.
 */
public final class RingPortDriver implements PortDriver {

    static final String NAME = "net_ring";
    private static final Map<String, RingPort> OPEN = new ConcurrentHashMap<>();

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "in-process ring port; loops back alone, or pairs with peer=net_ringN";
    }

    @Override
    public Set<String> keys() {
        return Set.of("size", "queues", "peer", "count_bytes");
    }

    @Override
    public Port open(DeviceSpec spec, PortContext ctx) {
        int size = spec.getInt("size", Math.max(ctx.rxDescriptors(), ctx.txDescriptors()), 2, 1 << 24);
        if (Integer.bitCount(size) != 1) {
            throw new DeviceException(
                    "invalid size=" + size + " for device '" + spec.name() + "': ring size must be a power of two");
        }
        int queues = spec.getInt("queues", Math.max(ctx.rxQueues(), ctx.txQueues()), 1, 1024);
        String peerName = spec.get("peer");
        RingPort peer = null;
        if (peerName != null) {
            peer = OPEN.get(peerName);
            if (peer == null) {
                throw new DeviceException("peer '" + DeviceSpec.parse(peerName).name() + "' of device '" + spec.name()
                        + "' is not an open net_ring port: open it first");
            }
        }
        boolean countBytes = spec.getBool("count_bytes", true);
        RingPort port = new RingPort(
                spec.name(), ctx.pool(), ctx.portId(), queues, size, countBytes, () -> OPEN.remove(spec.name()));
        if (OPEN.putIfAbsent(spec.name(), port) != null) {
            throw new DeviceException("device '" + spec.name() + "' is already open");
        }
        if (peer != null) {
            try {
                RingPort.connect(port, peer);
            } catch (IllegalArgumentException e) {
                port.close();
                throw new DeviceException(e.getMessage());
            }
        }
        return port;
    }
}
