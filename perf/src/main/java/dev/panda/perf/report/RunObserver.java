package dev.panda.perf.report;

/** Told by a comparison what it measures now (for the report's progress line). */
@FunctionalInterface
public interface RunObserver {

    RunObserver NONE = what -> {};

    /** A run begins: {@code what} names the comparison, the pair and the side, e.g. "ring-io pair 2/3: panda". */
    void starting(String what);
}
