package dev.panda.perf.report;

import java.util.Arrays;
import java.util.Collection;

/** Median and range of the finite values of a list (NaN when there are none). */
public final class Stats {

    private Stats() {}

    public static double median(Collection<Double> v) {
        double[] c = finite(v);
        if (c.length == 0) {
            return Double.NaN;
        }
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    public static double min(Collection<Double> v) {
        return Arrays.stream(finite(v)).min().orElse(Double.NaN);
    }

    public static double max(Collection<Double> v) {
        return Arrays.stream(finite(v)).max().orElse(Double.NaN);
    }

    private static double[] finite(Collection<Double> v) {
        return v.stream()
                .mapToDouble(Double::doubleValue)
                .filter(Double::isFinite)
                .toArray();
    }
}
