package dev.panda.dataplane.testpmd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.testing.AllocationWatch;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The hot path allocates nothing: io forwarding between two ring ports runs for 10 s after a
 * warm-up while a JFR recording watches every TLAB and out-of-TLAB allocation and every GC, and
 * the JVM counts the bytes the forwarding thread allocates.
 */
class SteadyStateAllocationTest {

    private static final Duration WARM_UP = Duration.ofSeconds(3);
    private static final Duration WINDOW = Duration.ofSeconds(10);

    @Test
    void ioForwardingAllocatesNothingPerPacketAndCausesNoGc() throws Exception {
        TestpmdOptions o = TestpmdOptions.parse(
                "-l",
                "0,1",
                "--no-huge",
                "--vdev",
                "net_ring0",
                "--vdev",
                "net_ring1",
                "--",
                "--forward-mode=io",
                "--idle=yield",
                "--total-num-mbufs=4096");
        try (Testpmd app = Testpmd.open(o, new PrintStream(OutputStream.nullOutputStream()))) {
            app.start(4);
            Thread.sleep(WARM_UP.toMillis());
            Thread lcore = app.lcores().getFirst().thread();
            try (AllocationWatch watch = AllocationWatch.start(lcore)) {
                long pkts0 = forwarded(app);
                Thread.sleep(WINDOW.toMillis());
                AllocationWatch.Result r = watch.stop();
                long packets = forwarded(app) - pkts0;
                app.stop();
                System.out.printf(
                        "steady state: %.1f s, %d packets forwarded (%.2f Mpps), lcore thread allocated %d B"
                                + " (%.9f B/packet), GC cycles %d (JFR: %d), JFR allocation events on %s: %d%n",
                        r.seconds(),
                        packets,
                        packets / r.seconds() / 1e6,
                        r.allocatedBytes(),
                        (double) r.allocatedBytes() / packets,
                        r.gcCycles(),
                        r.jfrGcEvents(),
                        lcore.getName(),
                        r.jfrAllocationEvents());
                assertTrue(packets > 1_000_000, "forwarding too slow to show anything: " + packets);
                assertEquals(0, r.jfrAllocationEvents(), "JFR saw the forwarding thread allocate");
                assertEquals(
                        0,
                        r.allocatedBytes(),
                        "the forwarding thread allocated " + r.allocatedBytes() + " bytes over " + packets
                                + " packets");
                assertEquals(0, r.gcCycles(), "GC cycles during steady-state forwarding");
                assertEquals(0, r.jfrGcEvents(), "GC cycles recorded by JFR during steady-state forwarding");
            }
        }
    }

    private static long forwarded(Testpmd app) {
        return app.port(0).stats().ipackets() + app.port(1).stats().ipackets();
    }
}
