package dev.panda.dataplane.ports.nullport;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortConformanceTest;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;

class NullPortConformanceTest extends PortConformanceTest {

    @Override
    protected Fixture open(PacketPool pool) {
        Port port = Ports.discover().open("net_null0,size=128,copy=1", PortContext.of(pool, 0));
        return Fixture.of(port, n -> -1);
    }
}
