package dev.panda.dataplane.ports.pcap;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortConformanceTest;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/**
 * The conformance suite on a pcap port that replays a small capture forever (infinite_rx=1, so
 * it produces packets on its own) and records tx to a file.
 */
class PcapPortConformanceTest extends PortConformanceTest {

    @TempDir
    Path dir;

    @Override
    protected Fixture open(PacketPool pool) {
        PcapBuilder capture = PcapBuilder.ethernet();
        for (int i = 0; i < 50; i++) {
            capture.record(PcapBuilder.frame(60 + i * 29, i));
        }
        Path in = capture.writeTo(dir.resolve("in.pcap"));
        Port port = Ports.discover()
                .open(
                        "net_pcap0,infinite_rx=1,rx_pcap=" + in + ",tx_pcap=" + dir.resolve("out.pcap"),
                        PortContext.of(pool, 0));
        return Fixture.of(port, n -> -1);
    }
}
