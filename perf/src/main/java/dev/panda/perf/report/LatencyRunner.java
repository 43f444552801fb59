package dev.panda.perf.report;

import java.io.PrintStream;
import java.util.List;

/**
 * The report's latency section: runs the latency measurements (a generator stamping frames at an
 * offered rate through a path and a switch, the receiver recording one-way latency into an
 * HdrHistogram) and returns one {@link LatencyFigure} per run. {@code panda perf report} finds
 * its runner with {@link java.util.ServiceLoader} (a
 * {@code META-INF/services/dev.panda.perf.report.LatencyRunner} entry); without one the latency
 * section is skipped with one line.
 */
public interface LatencyRunner {

    /** Why the runs cannot be made here (a peer missing, not root), or null when they can. */
    default String unavailable() {
        return null;
    }

    /** How many runs {@link #run} makes within {@code budget} (for the progress bar). */
    int runs(Budget budget);

    /** About how long one run takes, in seconds. */
    double secondsPerRun(Budget budget);

    /**
     * Makes the runs, telling {@code observer} as each starts and printing a line per result to
     * {@code out}.
     */
    List<LatencyFigure> run(Budget budget, PrintStream out, RunObserver observer) throws Exception;
}
