package dev.panda.perf;

import dev.panda.perf.report.CpuWatch;
import dev.panda.perf.report.CrossCpuRtt;
import dev.panda.perf.report.RunFigure;
import dev.panda.perf.report.Stats;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A comparison's run measured with the CPU use of other processes watched around it. */
final class Measured {

    /** A run that returns its per-second packet rates. */
    interface Rates {
        double[] measure() throws Exception;
    }

    /** The busy cycles per packet the measuring code reported for the run on this thread. */
    private static final ThreadLocal<Double> CYCLES = new ThreadLocal<>();

    /** A testpmd's {@code --record-core-cycles} line, panda's or DPDK's (one layout). */
    static final Pattern CORE_CYCLES =
            Pattern.compile("CPU cycles/packet=([0-9.]+) \\(total cycles=(\\d+) / total \\S+ packets=(\\d+)\\)");

    private Measured() {}

    /**
     * Called by a run's measuring code (on the thread that runs it) with the busy cycles per packet
     * of the side under test, as dpdk-testpmd's {@code --record-core-cycles} counts them.
     */
    static void cycles(double perPacket) {
        CYCLES.set(perPacket);
    }

    /** The last {@code --record-core-cycles} figure in a testpmd's output, NaN if it printed none. */
    static double coreCycles(String output) {
        Matcher m = CORE_CYCLES.matcher(output);
        double last = Double.NaN;
        while (m.find()) {
            last = Double.parseDouble(m.group(1));
        }
        return last;
    }

    /** Reports the cycles figure of a testpmd's output for the run on this thread. */
    static void cyclesFrom(String output) {
        cycles(coreCycles(output));
    }

    /** Runs {@code run}; the figure is the median of its per-second rates, in Mpps. */
    static RunFigure run(String label, Rates run) throws Exception {
        CYCLES.remove();
        CpuWatch w = CpuWatch.start();
        int cpus = Runtime.getRuntime().availableProcessors();
        // about 10 ms of two spinning threads per second: which placement the run had
        CrossCpuRtt rtt = cpus >= 2 ? CrossCpuRtt.start(0, cpus - 1, 1000) : null;
        double[] pps;
        try {
            pps = run.measure();
        } catch (Exception | Error e) {
            CYCLES.remove();
            throw e;
        } finally {
            if (rtt != null) {
                rtt.close();
            }
        }
        double other = w.otherPercent();
        Double cycles = CYCLES.get();
        CYCLES.remove();
        List<Double> mpps = Arrays.stream(pps).map(x -> x / 1e6).boxed().toList();
        return new RunFigure(
                label, Stats.median(mpps), cycles == null ? Double.NaN : cycles, other, mpps, medianRtt(rtt));
    }

    /** The median of a sampler's per-sample median round trips, NaN without samples. */
    static double medianRtt(CrossCpuRtt rtt) {
        if (rtt == null) {
            return Double.NaN;
        }
        List<Double> ns = rtt.samples().stream()
                .map(CrossCpuRtt.Sample::medianNs)
                .filter(x -> !Double.isNaN(x))
                .toList();
        return ns.isEmpty() ? Double.NaN : Stats.median(ns);
    }

    /** Busy nanoseconds per packet for {@code cyclesPerPacket} at the TSC rate, NaN if unknown. */
    static double nanos(double cyclesPerPacket) {
        double hz = dev.panda.dataplane.stats.TscRate.hz();
        return hz > 0 ? cyclesPerPacket / (hz / 1e9) : Double.NaN;
    }

    /** A run that was not made (the peer is missing): NaN everywhere. */
    static RunFigure none(String label) {
        return new RunFigure(label, Double.NaN, Double.NaN, Double.NaN, List.of());
    }

    static double[] toArray(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
