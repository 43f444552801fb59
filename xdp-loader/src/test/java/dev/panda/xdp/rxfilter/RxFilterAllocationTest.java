package dev.panda.xdp.rxfilter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.testing.AllocationWatch;
import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdOptions;
import dev.panda.xdp.prefilter.Prefilter;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The filtered hot path allocates nothing: io forwarding from a replayed capture (every verdict
 * of the prefilter: prefix drop, flow drop and pass, default pass, malformed) through the
 * userspace prefilter, while JFR watches the forwarding thread's allocations and every GC and
 * the JVM counts its allocated bytes (as dataplane's SteadyStateAllocationTest). The lcore
 * thread's CPU time per received packet is printed, with and without the filter, not asserted.
 */
class RxFilterAllocationTest {

    private static final long WARM_UP_MS = 4000;
    private static final long WINDOW_MS = 8000;

    @ParameterizedTest
    @ValueSource(strings = {"jit", "interp", "none"})
    void filteredForwardingAllocatesNothingInSteadyState(String engine) throws Exception {
        Path dir = Files.createTempDirectory("panda-rxfilter-alloc");
        Path rx = dir.resolve("mix.pcap");
        List<byte[]> frames = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            frames.add(RxFilterTestpmdTest.frame(RxFilterTestpmdTest.Kind.values()[i % 5], i));
        }
        Frames.writePcap(rx, frames);
        List<String> args = new ArrayList<>(List.of(
                "-l",
                "0,1",
                "--no-huge",
                "--vdev",
                "net_pcap0,rx_pcap=" + rx + ",infinite_rx=1",
                "--vdev",
                "net_pcap1",
                "--",
                "--forward-mode=io",
                "--idle=yield",
                "--total-num-mbufs=4096"));
        if (!engine.equals("none")) {
            args.add("--rx-filter=prefilter,engine=" + engine);
        }
        try (Testpmd app = Testpmd.open(
                TestpmdOptions.parse(args.toArray(String[]::new)), new PrintStream(OutputStream.nullOutputStream()))) {
            Prefilter p = null;
            if (app.rxFilter() != null) {
                p = RxFilterTestpmdTest.filter(app).prefilter();
                RxFilterTestpmdTest.baseRules(p);
            }
            app.start(0);
            Thread.sleep(WARM_UP_MS);
            Thread lcore = app.lcores().getFirst().thread();
            // tiered compilation of the translated program may allocate a few bytes once
            AllocationWatch.settle(lcore, 60);
            try (AllocationWatch watch = AllocationWatch.start(lcore)) {
                long pkts0 = app.port(0).stats().ipackets();
                long drop0 = p == null ? 0 : p.actionCount(Prefilter.Action.DROP_PREFIX);
                Thread.sleep(WINDOW_MS);
                AllocationWatch.Result r = watch.stop();
                long packets = app.port(0).stats().ipackets() - pkts0;
                long drops = p == null ? 0 : p.actionCount(Prefilter.Action.DROP_PREFIX) - drop0;
                app.stop();
                System.out.printf(
                        "rx filter %s: %d packets in %d ms, lcore CPU %.0f ns/packet, allocated %d B, "
                                + "GC %d (JFR %d), JFR allocation events %d%n",
                        engine,
                        packets,
                        WINDOW_MS,
                        (double) r.cpuNanos() / Math.max(1, packets),
                        r.allocatedBytes(),
                        r.gcCycles(),
                        r.jfrGcEvents(),
                        r.jfrAllocationEvents());
                assertTrue(packets > 10_000, "forwarding too slow to show anything: " + packets);
                if (p != null) {
                    assertTrue(drops > 1000, "the filter dropped nothing in the window");
                }
                assertEquals(0, r.jfrAllocationEvents(), "JFR saw the forwarding thread allocate");
                assertEquals(
                        0,
                        r.allocatedBytes(),
                        "the forwarding thread allocated " + r.allocatedBytes() + " bytes over " + packets
                                + " packets");
                assertEquals(0, r.gcCycles(), "GC cycles during steady-state forwarding");
                assertEquals(0, r.jfrGcEvents(), "GC cycles recorded by JFR");
            }
        } finally {
            Files.deleteIfExists(rx);
            Files.deleteIfExists(dir);
        }
    }
}
