package dev.panda.perf.report;

import java.util.List;

/**
 * Everything a {@code panda perf report} run produced: what was asked, the machine, the
 * cross-CPU round-trip samples, each comparison, the latency runs, and one line per comparison
 * that was skipped and why.
 *
 * @param mode    quick, standard or full
 * @param started ISO-8601 UTC time the run began
 * @param seconds how long the whole run took
 */
public record Report(
        String mode,
        String started,
        double seconds,
        String command,
        MachineInfo machine,
        List<CrossCpuRtt.Sample> crossCpuRoundTrip,
        List<ComparisonResult> comparisons,
        List<LatencyFigure> latency,
        List<String> skipped) {

    public Report {
        crossCpuRoundTrip = List.copyOf(crossCpuRoundTrip);
        comparisons = List.copyOf(comparisons);
        latency = List.copyOf(latency);
        skipped = List.copyOf(skipped);
    }
}
