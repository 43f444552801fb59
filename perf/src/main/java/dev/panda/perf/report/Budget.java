package dev.panda.perf.report;

/**
 * How long a report's comparisons run: {@code pairs} interleaved pairs of {@code seconds}
 * measured seconds each, and the vswitch loop's {@code loopRounds} rounds with {@code warmup}
 * seconds of warm-up per run.
 */
public record Budget(String mode, int pairs, int seconds, int warmup, int loopRounds) {

    /** About 5 minutes for everything. */
    public static final Budget QUICK = new Budget("quick", 2, 2, 2, 1);

    public static final Budget STANDARD = new Budget("standard", 3, 4, 3, 3);

    /** The comparisons' own defaults or more. */
    public static final Budget FULL = new Budget("full", 5, 5, 3, 7);
}
