package dev.panda.perf.report;

import org.HdrHistogram.AbstractHistogram;

/**
 * One latency run: frames stamped by the generator at {@code offeredMpps} through {@code path}
 * (e.g. "net_ring loop", "vhost-user loop") with {@code sw} as the switch ("panda vswitch",
 * "ovs", "testpmd", or "-" where there is none), how many frames were measured, and the
 * percentiles of their latency in nanoseconds as HdrHistogram computes them
 * ({@link #of(String, String, double, AbstractHistogram)}).
 */
public record LatencyFigure(
        String path,
        String sw,
        double offeredMpps,
        long samples,
        long p50Ns,
        long p99Ns,
        long p999Ns,
        long p9999Ns,
        long maxNs) {

    /** A run whose sample count is not known (0). */
    public LatencyFigure(
            String path, String sw, double offeredMpps, long p50Ns, long p99Ns, long p999Ns, long p9999Ns, long maxNs) {
        this(path, sw, offeredMpps, 0, p50Ns, p99Ns, p999Ns, p9999Ns, maxNs);
    }

    /** The percentiles of a histogram whose values are nanoseconds. */
    public static LatencyFigure of(String path, String sw, double offeredMpps, AbstractHistogram ns) {
        return new LatencyFigure(
                path,
                sw,
                offeredMpps,
                ns.getTotalCount(),
                ns.getValueAtPercentile(50),
                ns.getValueAtPercentile(99),
                ns.getValueAtPercentile(99.9),
                ns.getValueAtPercentile(99.99),
                ns.getMaxValue());
    }

    /** The percentile labels and values in plot order. */
    public long[] values() {
        return new long[] {p50Ns, p99Ns, p999Ns, p9999Ns, maxNs};
    }

    public static final String[] LABELS = {"p50", "p99", "p99.9", "p99.99", "max"};
}
