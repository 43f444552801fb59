package dev.panda.perf.report;

import java.util.Locale;

/**
 * How report.md and report.html print a figure. report.json holds the same figures unrounded;
 * each printed figure is its JSON value in one of these formats, which the report test checks.
 */
public final class Figures {

    private Figures() {}

    /** Mpps: three decimals. */
    public static String mpps(double v) {
        return format("%.3f", v);
    }

    /** A ratio: two decimals. */
    public static String ratio(double v) {
        return format("%.2f", v);
    }

    /** Busy cycles per packet: one decimal. */
    public static String cycles(double v) {
        return format("%.1f", v);
    }

    /** A share of the CPU in percent: one decimal. */
    public static String percent(double v) {
        return format("%.1f", v);
    }

    /** Nanoseconds: one decimal. */
    public static String ns(double v) {
        return format("%.1f", v);
    }

    /** "0.71 (0.56..0.80)": a median with its range. */
    public static String spread(double median, double min, double max) {
        return ratio(median) + " (" + ratio(min) + ".." + ratio(max) + ")";
    }

    private static String format(String f, double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, f, v) : "n/a";
    }
}
