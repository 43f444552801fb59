package dev.panda.dataplane.ports.nullport;

import dev.panda.dataplane.port.DeviceSpec;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortDriver;
import java.util.Set;

/** {@code net_nullN[,size=64][,copy=0|1][,no-rx=0|1][,queues=1]}: a packet source and sink. */
public final class NullPortDriver implements PortDriver {

    static final String NAME = "net_null";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "packet source (rx) and sink (tx); size=, copy=, no-rx=";
    }

    @Override
    public Set<String> keys() {
        return Set.of("size", "copy", "no-rx", "queues");
    }

    @Override
    public Port open(DeviceSpec spec, PortContext ctx) {
        int size = spec.getInt("size", 64, 14, ctx.pool().maxPacketLength());
        boolean copy = spec.getBool("copy", false);
        boolean noRx = spec.getBool("no-rx", false);
        int queues = spec.getInt("queues", Math.max(ctx.rxQueues(), ctx.txQueues()), 1, 1024);
        return new NullPort(spec.name(), ctx.pool(), ctx.portId(), queues, size, copy, noRx);
    }
}
