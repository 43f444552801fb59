package dev.panda.perf.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The three files from a report with known figures: a comparison with an extra run, one with
 * busy cycles, A/A ratios and a missing figure, a disturbed run, and latency runs from
 * HdrHistograms. Every report.md figure must be report.json's; the HTML must hold one SVG per
 * plot, no script and no external reference.
 */
class ReportRenderTest {

    @TempDir
    Path dir;

    static RunFigure run(String label, double mpps, double cycles, double other) {
        return new RunFigure(label, mpps, cycles, other, List.of(mpps * 0.99, mpps, mpps * 1.01));
    }

    static Report sample() {
        ComparisonResult ring = ComparisonResult.of(
                "ring-io",
                "io forwarding between two net_ring ports",
                "two ring ports | one lcore",
                "panda",
                "dpdk-testpmd",
                List.of(
                        new PairFigure(
                                1,
                                run("panda", 969.1234, Double.NaN, 0.4),
                                run("dpdk-testpmd", 667.0049, Double.NaN, 1.2),
                                Map.of(
                                        "panda with byte counters",
                                        run("panda with byte counters", 365.5, Double.NaN, 0.1))),
                        new PairFigure(
                                2,
                                run("panda", 1049.0, Double.NaN, 7.5),
                                run("dpdk-testpmd", 423.25, Double.NaN, 0.0),
                                Map.of(
                                        "panda with byte counters",
                                        run("panda with byte counters", 274.0, Double.NaN, 0.2)))),
                List.of(),
                List.of("a note"));
        ComparisonResult loop = ComparisonResult.of(
                "vswitch-loop-ovs",
                "vswitch loop: panda-rtc against OVS-DPDK NORMAL as the switch",
                "a closed loop",
                "panda-rtc",
                "OVS-DPDK NORMAL",
                List.of(
                        new PairFigure(
                                1,
                                new RunFigure("panda-rtc", 4.0049, 495.26, 0.3, List.of()),
                                new RunFigure("ovs", 5.06, 395.0, 0.2, List.of()),
                                Map.of(
                                        "panda-rtc (A/A)",
                                        new RunFigure("panda-rtc (A/A)", 3.39, 587.0, 0.1, List.of()))),
                        new PairFigure(
                                2,
                                new RunFigure("panda-rtc", Double.NaN, Double.NaN, 0.3, List.of()),
                                new RunFigure("ovs", 5.5, 380.0, 0.2, List.of()),
                                Map.of(
                                        "panda-rtc (A/A)",
                                        new RunFigure("panda-rtc (A/A)", 3.9, 500.0, 0.1, List.of())))),
                List.of(4.0049 / 3.39, Double.NaN),
                List.of());
        Histogram h = new Histogram(3_600_000_000L, 3);
        for (int i = 1; i <= 10_000; i++) {
            h.recordValue(1000 + i); // 1001..11000 ns
        }
        Histogram h2 = new Histogram(3_600_000_000L, 3);
        for (int i = 1; i <= 10_000; i++) {
            h2.recordValue(5000 + 3L * i);
        }
        return new Report(
                "quick",
                "2026-12-03T05:00:00Z",
                301.5,
                "panda perf report --quick",
                new MachineInfo(
                        "Test CPU @ 2.00GHz",
                        2,
                        2.0,
                        "6.1",
                        "OpenJDK 25",
                        "DPDK 22.11",
                        "not installed",
                        "QEMU 7.2",
                        "1024 x 2048 kB, 1024 free"),
                List.of(
                        new CrossCpuRtt.Sample(1.0, 120, 180, 2000),
                        new CrossCpuRtt.Sample(2.0, 130, 190, 2000),
                        new CrossCpuRtt.Sample(3.0, Double.NaN, Double.NaN, 3),
                        new CrossCpuRtt.Sample(4.0, 400, 600, 2000)),
                List.of(ring, loop),
                List.of(
                        LatencyFigure.of("net_ring loop", "-", 0.1, h),
                        LatencyFigure.of("vhost-user loop", "panda vswitch", 1.0, h2),
                        LatencyFigure.of("vhost-user loop", "ovs", 1.0, h)),
                List.of("classifier: skipped, panda has no flows yet"));
    }

    @Test
    void everyMarkdownFigureIsTheJsonOne() throws Exception {
        Report r = sample();
        ReportFiles.write(r, dir);
        int checked = ReportChecks.markdownMatchesJson(dir);
        // 2 pairs x (3 figures + extra + 2 cpu) + medians 3, for ring-io; the loop has cycles too; the summary; latency
        assertTrue(checked >= 60, "figures compared: " + checked);

        JsonNode json = ReportFiles.mapper().readTree(dir.resolve("report.json").toFile());
        JsonNode p2 = json.path("comparisons").get(1).path("pairs").get(1);
        assertTrue(p2.path("panda").path("mpps").isNull(), "NaN is written as null");
        assertTrue(p2.path("ratio").isNull());
        assertEquals(
                969.1234,
                json.path("comparisons")
                        .get(0)
                        .path("pairs")
                        .get(0)
                        .path("panda")
                        .path("mpps")
                        .asDouble());
        assertEquals(
                3,
                json.path("comparisons")
                        .get(0)
                        .path("pairs")
                        .get(0)
                        .path("panda")
                        .path("perSecondMpps")
                        .size());
        assertEquals(
                1,
                json.path("comparisons")
                        .get(0)
                        .path("summary")
                        .path("disturbedRuns")
                        .asInt());
        // the median of the ratios, not the ratio of the medians
        double r1 = 969.1234 / 667.0049;
        double r2 = 1049.0 / 423.25;
        assertEquals(
                (r1 + r2) / 2,
                json.path("comparisons").get(0).path("summary").path("ratio").asDouble(),
                1e-12);
        JsonNode lat = json.path("latency").get(0);
        assertEquals(6001, lat.path("p50Ns").asLong(), 6, "HdrHistogram's p50 of 1001..11000");
        assertEquals(10_901, lat.path("p99Ns").asLong(), 11);
        assertEquals(11_000, lat.path("maxNs").asLong(), 11);

        String md = Files.readString(dir.resolve("report.md"));
        assertTrue(md.contains("> **warning:** other processes used 7.5% of the CPU during pair 2's panda run"), md);
        assertTrue(md.contains("two ring ports | one lcore"));
        assertTrue(
                md.contains(
                        "4 samples, about one a second (3 with a figure): per-sample fastest round trip 120.0 .. 400.0"
                                + " ns (median 130.0)"),
                md);
        assertTrue(
                md.contains("Placement: 2 sample(s) fast (within 1.5x of the run's fastest, median 125.0 ns), 1 slow"
                        + " (median 400.0 ns)"),
                md);
        assertTrue(md.contains("- classifier: skipped, panda has no flows yet"));

        String html = Files.readString(dir.resolve("report.html"));
        // rtt, ring-io (Mpps, ratio), loop (Mpps, ratio, cycles), latency (2 paths)
        assertEquals(8, Pattern.compile("<svg").matcher(html).results().count(), "one svg per plot");
        assertFalse(html.contains("<script"), "no script");
        assertFalse(Pattern.compile("(src|href)=\"(http|//)").matcher(html).find(), "no external resource");
        assertTrue(html.contains("warning: other processes used 7.5% of the CPU during pair 2&#39;s panda run")
                || html.contains("warning: other processes used 7.5% of the CPU during pair 2's panda run"));
    }
}
