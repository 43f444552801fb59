package dev.panda.dataplane.testpmd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.testing.AllocationWatch;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Latency mode allocates nothing per packet: a paced generator stamping the time and the same
 * lcore recording every packet's latency into its histogram (flowgen on a looped-back ring) run
 * under JFR after a warm-up, while the control thread reads the histograms (show fwd stats all,
 * which swaps them) every 500 ms.
 */
class LatencyAllocationTest {

    private static final Duration WARM_UP = Duration.ofSeconds(3);
    private static final Duration WINDOW = Duration.ofSeconds(6);

    @Test
    void pacingStampingAndRecordingAllocateNothingPerPacket() throws Exception {
        TestpmdOptions o = TestpmdOptions.parse(
                "-l",
                "0,1",
                "--no-huge",
                "--vdev",
                "net_ring0",
                "--",
                "--forward-mode=flowgen",
                "--port-topology=loop",
                "--tx-rate=1M",
                "--latency",
                "--record-core-cycles",
                "--record-burst-stats",
                "--idle=spin",
                "--total-num-mbufs=4096");
        try (Testpmd app = Testpmd.open(o, new PrintStream(OutputStream.nullOutputStream()))) {
            app.start(0);
            // the warm-up reads the histograms too, so the lcore has met both phases of the
            // recorder (and the JIT compiled both) before the window
            for (long end = System.nanoTime() + WARM_UP.toNanos(); System.nanoTime() < end; ) {
                app.showForwardStats();
                Thread.sleep(200);
            }
            Thread lcore = app.lcores().getFirst().thread();
            AllocationWatch.settle(lcore, 30);
            try (AllocationWatch watch = AllocationWatch.start(lcore)) {
                long recorded0 = app.latency().getTotalCount();
                long deadline = System.nanoTime() + WINDOW.toNanos();
                while (System.nanoTime() < deadline) {
                    app.showForwardStats(); // swaps the lcore's histograms while it records
                    Thread.sleep(500);
                }
                AllocationWatch.Result r = watch.stop();
                long recorded = app.latency().getTotalCount() - recorded0;
                app.stop();
                System.out.printf(
                        "latency mode: %.1f s, %d latencies recorded (%.2f M/s), lcore allocated %d B, GC cycles %d"
                                + " (JFR: %d), JFR allocation events on the lcore: %d%n",
                        r.seconds(),
                        recorded,
                        recorded / r.seconds() / 1e6,
                        r.allocatedBytes(),
                        r.gcCycles(),
                        r.jfrGcEvents(),
                        r.jfrAllocationEvents());
                assertTrue(recorded > 1_000_000, "too few packets to show anything: " + recorded);
                assertEquals(0, r.jfrAllocationEvents(), "JFR saw the lcore allocate");
                assertEquals(0, r.allocatedBytes(), "the lcore allocated " + r.allocatedBytes() + " bytes");
                assertEquals(0, r.gcCycles(), "GC cycles during the window");
                assertEquals(0, r.jfrGcEvents(), "GC cycles recorded by JFR during the window");
            }
        }
    }
}
