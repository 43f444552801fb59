package dev.panda.perf.latency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.perf.report.Budget;
import dev.panda.perf.report.LatencyFigure;
import dev.panda.perf.report.LatencyRunner;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** The report's latency section: found by ServiceLoader, one figure per path and rate. */
class LatencyReportRunnerTest {

    @Test
    void theReportFindsThisRunner() {
        LatencyRunner r = ServiceLoader.load(LatencyRunner.class).findFirst().orElseThrow();
        assertInstanceOf(LatencyReportRunner.class, r);
        assertTrue(LatencyReportRunner.paths().contains("ring"));
        assertEquals(LatencyReportRunner.paths().size() * 3, r.runs(Budget.QUICK));
    }

    @Test
    void theRingLoopGivesAFigurePerRateWithOrderedPercentiles() throws Exception {
        LatencyReportRunner runner = new LatencyReportRunner(List.of("ring"));
        List<String> started = new ArrayList<>();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        List<LatencyFigure> figures;
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            figures = runner.run(new Budget("test", 1, 1, 1, 1), out, started::add);
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(3, started.size(), started.toString());
        assertEquals(3, figures.size(), text);
        double[] offered = {0.1, 1.0, 5.0};
        for (int i = 0; i < 3; i++) {
            LatencyFigure f = figures.get(i);
            assertEquals(offered[i], f.offeredMpps(), 1e-9);
            assertEquals("none", f.sw());
            assertTrue(f.samples() > 1000, f + "\n" + text);
            assertTrue(0 < f.p50Ns() && f.p50Ns() <= f.p99Ns() && f.p99Ns() <= f.p999Ns(), f.toString());
            assertTrue(f.p999Ns() <= f.p9999Ns() && f.p9999Ns() <= f.maxNs(), f.toString());
        }
        assertTrue(text.contains("latency net_ring loop via none at 0.1 Mpps offered"), text);
    }
}
