package dev.panda.perf.latency;

/**
 * One latency measurement: a path at one offered rate, over the measured window.
 *
 * @param path        {@code net_ring loop} or {@code vhost-user loop}
 * @param switchName  the switch in the loop: {@code none} (ring), {@code panda-vswitch}, {@code ovs},
 *                    {@code testpmd}
 * @param offeredPps  the rate the generator was asked for
 * @param achievedPps packets the generator put on its port per second over the window (below
 *                    the offered rate when the generator, the port or the switch could not keep up)
 * @param p50Ns       one-way latency percentiles and maximum, in nanoseconds (HdrHistogram, 3
 *                    significant digits)
 * @param count       latencies recorded (timed packets received in the window)
 * @param lost        packets sent in the window that never arrived (0 if more arrived than were
 *                    sent: those in flight when the window opened)
 */
public record LatencyResult(
        String path,
        String switchName,
        double offeredPps,
        double achievedPps,
        long p50Ns,
        long p99Ns,
        long p999Ns,
        long p9999Ns,
        long maxNs,
        long count,
        long lost) {}
