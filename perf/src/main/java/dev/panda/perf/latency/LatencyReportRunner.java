package dev.panda.perf.latency;

import dev.panda.perf.report.Budget;
import dev.panda.perf.report.LatencyFigure;
import dev.panda.perf.report.LatencyRunner;
import dev.panda.perf.report.RunObserver;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The latency section of {@code panda perf report}: {@link LatencyBenchmark} at 0.1, 1 and 5 Mpps
 * offered through every path this machine can run (the net_ring loop always; the vhost-user loops
 * through panda's vswitch, OVS-DPDK and dpdk-testpmd with root and hugepages, and each peer when it
 * is installed). One benchmark run per path and rate, so the progress bar moves per run.
 */
public final class LatencyReportRunner implements LatencyRunner {

    static final List<Double> RATES_MPPS = List.of(0.1, 1.0, 5.0);

    private final List<String> only;

    /** Every path this machine can run (what {@code panda perf report} finds by ServiceLoader). */
    public LatencyReportRunner() {
        this(null);
    }

    /** Only these paths (null: every path this machine can run). */
    LatencyReportRunner(List<String> only) {
        this.only = only;
    }

    private List<String> chosen() {
        return only != null ? only : paths();
    }

    private static int seconds(Budget b) {
        return Math.max(1, b.seconds());
    }

    private static int warmup(Budget b) {
        return Math.max(1, Math.min(2, b.warmup()));
    }

    /** The paths this machine can run, in the report's order. */
    static List<String> paths() {
        List<String> p = new ArrayList<>(List.of("ring"));
        if (root() && hugepages()) {
            p.add("vswitch");
            if (Files.isExecutable(LatencyBenchmark.OVS)) {
                p.add("ovs");
            }
            if (Files.isExecutable(LatencyBenchmark.TESTPMD)) {
                p.add("testpmd");
            }
        }
        return p;
    }

    @Override
    public int runs(Budget budget) {
        return chosen().size() * RATES_MPPS.size();
    }

    @Override
    public double secondsPerRun(Budget budget) {
        return seconds(budget) + warmup(budget) + 3; // plus the loop's start, drain and stop
    }

    @Override
    public List<LatencyFigure> run(Budget budget, PrintStream out, RunObserver observer) throws Exception {
        List<String> paths = chosen();
        if (paths.size() == 1) {
            out.println("latency: only the net_ring loop (the vhost-user loops need root, hugepages and the peers)");
        }
        List<LatencyFigure> figures = new ArrayList<>();
        for (String path : paths) {
            for (double mpps : RATES_MPPS) {
                observer.starting("latency " + path + " at " + mpps + " Mpps");
                LatencyOptions o = new LatencyOptions(List.of(mpps), seconds(budget), warmup(budget), List.of(path));
                for (LatencyResult r : LatencyBenchmark.run(o, out)) {
                    figures.add(new LatencyFigure(
                            r.path(),
                            r.switchName(),
                            r.offeredPps() / 1e6,
                            r.count(),
                            r.p50Ns(),
                            r.p99Ns(),
                            r.p999Ns(),
                            r.p9999Ns(),
                            r.maxNs()));
                    out.printf(
                            "latency %s via %s at %.1f Mpps offered (%.3f achieved): p50 %d ns, p99 %d ns, p99.99 %d"
                                    + " ns, max %d ns, %d received, %d lost%n",
                            r.path(),
                            r.switchName(),
                            r.offeredPps() / 1e6,
                            r.achievedPps() / 1e6,
                            r.p50Ns(),
                            r.p99Ns(),
                            r.p9999Ns(),
                            r.maxNs(),
                            r.count(),
                            r.lost());
                }
            }
        }
        return figures;
    }

    private static boolean root() {
        try {
            return Files.readString(Path.of("/proc/self/status")).matches("(?s).*\\nUid:\\s+0\\s.*");
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static boolean hugepages() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("HugePages_Free:")) {
                    return Long.parseLong(line.substring(15).strip()) > 0;
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            return false;
        }
        return false;
    }
}
