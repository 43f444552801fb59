package dev.panda.perf.latency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The latency runner, quickly: the net_ring loop and the vhost-user loop through panda's vswitch
 * (in this JVM, nothing external) at 0.1 Mpps for 2 s each. Every packet the generator put on its
 * port in the window must arrive timed (the ring), or nearly every one (the vhost-user loop), the rate reached is at most the one asked for, and the
 * percentiles are positive and ordered.
 */
class LatencyBenchmarkTest {

    @Test
    void ringAndVswitchLoopsAtATenthOfAMppsGiveAFullHistogram() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream progress = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        List<LatencyResult> results =
                LatencyBenchmark.run(new LatencyOptions(List.of(0.1), 2, 1, List.of("ring", "vswitch")), progress);
        String text = bytes.toString(StandardCharsets.UTF_8);
        System.out.print(text);
        assertEquals(2, results.size(), "one result per path:\n" + text);
        assertEquals("net_ring loop", results.get(0).path());
        assertEquals("none", results.get(0).switchName());
        assertEquals("vhost-user loop", results.get(1).path());
        assertEquals("panda-vswitch", results.get(1).switchName());
        for (LatencyResult r : results) {
            assertEquals(100_000, r.offeredPps());
            assertTrue(r.achievedPps() <= 101_000, "faster than asked: " + r);
            // the generator gives up backlog only when it is descheduled for over 1 ms: on a
            // loaded machine (seen: load 17 on 2 CPUs) it reaches 8-30% of the rate, on an idle
            // one all of it
            assertTrue(r.achievedPps() > 1_000, "hardly anything sent: " + r);
            // achieved is over the measured window, which a loaded machine stretches past 2 s
            double sent = r.achievedPps() * 2;
            assertTrue(
                    Math.abs(r.count() + r.lost() - sent) <= sent * 0.1 + 64,
                    "count " + r.count() + " for ~" + sent + " sent: " + r);
            if (r.path().equals("net_ring loop")) {
                assertEquals(0, r.lost(), "a ring loses nothing: " + r);
            } else {
                // the switch drops what the receiver's ring cannot take while the receiving lcore
                // is descheduled (3-4% seen at load 15-17; none expected on an idle machine)
                assertTrue(r.lost() <= sent * 0.05, "lost more than 5%: " + r);
            }
            assertTrue(r.p50Ns() > 0, "p50: " + r);
            assertTrue(
                    r.p50Ns() <= r.p99Ns()
                            && r.p99Ns() <= r.p999Ns()
                            && r.p999Ns() <= r.p9999Ns()
                            && r.p9999Ns() <= r.maxNs(),
                    "percentiles out of order: " + r);
        }
    }

    @Test
    void optionsParseAndRefuseNonsense() {
        LatencyOptions o = LatencyOptions.parse("--rates", "0.1,1", "--seconds", "3", "--only", "ring,ovs");
        assertEquals(List.of(0.1, 1.0), o.ratesMpps());
        assertEquals(3, o.seconds());
        assertEquals(List.of("ring", "ovs"), o.only());
        assertEquals(LatencyOptions.defaults(), LatencyOptions.parse());
        for (String[] bad : new String[][] {
            {"--rates", "fast"},
            {"--rates", "0"},
            {"--rates", ""},
            {"--seconds", "0"},
            {"--only", "vpp"},
            {"--bogus"},
            {"--rates"}
        }) {
            assertThrows(IllegalArgumentException.class, () -> LatencyOptions.parse(bad), String.join(" ", bad));
        }
    }
}
