package dev.panda.perf.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * One measured run of a comparison.
 *
 * @param label           what ran ("panda net_vhost", "dpdk-testpmd", ...)
 * @param mpps            the run's figure: the median of its per-second rates in Mpps (the vswitch
 *                        loop: the window's mean rate)
 * @param cyclesPerPacket busy cycles per packet at the TSC rate, NaN where the run has none
 * @param otherCpuPercent share of the machine's CPU time (all CPUs) that processes other than this
 *                        JVM and its children used during the run, in percent; NaN if not watched
 * @param perSecondMpps   the per-second rates the figure is the median of (empty where the run has
 *                        only one window)
 * @param crossCpuRttNs   the median cache-line round trip between the first and the last CPU sampled
 *                        during the run (which placement the host gave the run), NaN if not sampled
 */
public record RunFigure(
        String label,
        double mpps,
        double cyclesPerPacket,
        double otherCpuPercent,
        List<Double> perSecondMpps,
        double crossCpuRttNs) {

    /** A run whose round trip was not sampled. */
    public RunFigure(
            String label, double mpps, double cyclesPerPacket, double otherCpuPercent, List<Double> perSecondMpps) {
        this(label, mpps, cyclesPerPacket, otherCpuPercent, perSecondMpps, Double.NaN);
    }

    /** Above this share of the machine's CPU used by other processes, a run is flagged. */
    public static final double OTHER_CPU_LIMIT_PERCENT = 5.0;

    public RunFigure {
        perSecondMpps = List.copyOf(perSecondMpps);
    }

    /** Whether other processes used more than {@link #OTHER_CPU_LIMIT_PERCENT} of the CPU during the run. */
    @JsonProperty("disturbed")
    public boolean disturbed() {
        return otherCpuPercent > OTHER_CPU_LIMIT_PERCENT;
    }
}
