package dev.panda.perf;

import dev.panda.perf.report.CpuWatch;
import dev.panda.perf.report.RunFigure;
import dev.panda.perf.report.Stats;
import java.util.Arrays;
import java.util.List;

/** A comparison's run measured with the CPU use of other processes watched around it. */
final class Measured {

    /** A run that returns its per-second packet rates. */
    interface Rates {
        double[] measure() throws Exception;
    }

    private Measured() {}

    /** Runs {@code run}; the figure is the median of its per-second rates, in Mpps. */
    static RunFigure run(String label, Rates run) throws Exception {
        CpuWatch w = CpuWatch.start();
        double[] pps = run.measure();
        double other = w.otherPercent();
        List<Double> mpps = Arrays.stream(pps).map(x -> x / 1e6).boxed().toList();
        return new RunFigure(label, Stats.median(mpps), Double.NaN, other, mpps);
    }

    /** A run that was not made (the peer is missing): NaN everywhere. */
    static RunFigure none(String label) {
        return new RunFigure(label, Double.NaN, Double.NaN, Double.NaN, List.of());
    }

    static double[] toArray(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
