package dev.panda.dataplane.ports.pcap;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortConformanceTest;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;

/** The conformance suite on a pcap port with neither file: rx gives nothing, tx frees and counts. */
class PcapSinkPortConformanceTest extends PortConformanceTest {

    @Override
    protected Fixture open(PacketPool pool) {
        Port port = Ports.discover().open("net_pcap1", PortContext.of(pool, 1));
        return Fixture.of(port, n -> 0);
    }
}
