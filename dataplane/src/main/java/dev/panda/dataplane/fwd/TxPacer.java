package dev.panda.dataplane.fwd;

import java.util.function.LongConsumer;

/**
 * Paces a generator to a fixed packet rate on {@code System.nanoTime()} (the TSC through the vDSO
 * on Linux): packet i is due at {@code start + i / rate}. Each pass asks how many packets are due
 * now ({@link #due}), sends at most a burst of them, and reports what it sent ({@link #sent}), so
 * at low rates packets leave one or a few at a time, evenly spaced, and at high rates in bursts.
 *
 * <p>When the rate cannot be reached (the port refuses, the pool is empty, the CPU is slower than
 * the rate, or the thread was descheduled), the generator sends full bursts back to back until it
 * is on schedule again, but it never banks more than {@link #MAX_LAG_NANOS} of backlog: a pacer
 * further behind than that gives up the older part of it, counts the packets it gave up in
 * {@link #skipped()} (and in the stream's TX-rate-skipped), and catches up only the last
 * millisecond. The achieved rate (TX-packets over time) is then below the one asked for, and
 * sent plus skipped is the rate times the time. Packets the port refuses are offered nonetheless: they are the
 * stream's TX-dropped. Owned by the stream's lcore; allocates nothing.
 */
public final class TxPacer {

    /** At most 1 ms of backlog is caught up at line rate; beyond that it is given up. */
    public static final long MAX_LAG_NANOS = 1_000_000;

    private final double nanosPerPacket;
    private final long maxLagPackets;
    private double next = Double.NaN;
    private long skipped;
    private final LongConsumer onSkip;

    /** {@code pps} > 0: packets per second. */
    public TxPacer(double pps) {
        this(pps, n -> {});
    }

    /** As {@link #TxPacer(double)}; {@code onSkip} is told of every backlog given up (e.g. a stream counter). */
    public TxPacer(double pps, LongConsumer onSkip) {
        if (!(pps > 0)) {
            throw new IllegalArgumentException("rate must be > 0 pps, got " + pps);
        }
        this.nanosPerPacket = 1e9 / pps;
        this.maxLagPackets = Math.max(1, (long) (MAX_LAG_NANOS / nanosPerPacket));
        this.onSkip = onSkip;
    }

    /** How many packets are due at {@code now} (a {@code System.nanoTime()}), at most {@code max}. */
    public int due(long now, int max) {
        if (Double.isNaN(next)) {
            next = now;
        }
        double late = now - next;
        if (late < 0) {
            return 0;
        }
        long n = 1 + (long) (late / nanosPerPacket);
        if (n > maxLagPackets) {
            long gone = n - maxLagPackets;
            skipped += gone;
            onSkip.accept(gone);
            next += gone * nanosPerPacket;
            n = maxLagPackets;
        }
        return (int) Math.min(n, max);
    }

    /** Moves the schedule on by {@code n} packets sent (or offered). */
    public void sent(int n) {
        next += n * nanosPerPacket;
    }

    /** Packets given up because the generator was more than {@link #MAX_LAG_NANOS} behind. */
    public long skipped() {
        return skipped;
    }
}
