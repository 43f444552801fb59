package dev.panda.dataplane.fwd;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.stats.Counter;
import java.lang.foreign.MemorySegment;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.WriterReaderPhaser;

/**
 * One-way latency of timed packets ({@link PayloadStamp#writeTimed}), recorded by one lcore into
 * an HdrHistogram: the latency of a packet is the receiving burst's {@code System.nanoTime()} minus
 * the time in its stamp. One recorder per forwarding lcore, shared by that lcore's streams; the
 * control thread reads it without stopping the lcore.
 *
 * <p>Two histograms take turns (1 ns to {@link #HIGHEST_NANOS} at 3 significant digits, sized
 * once): the lcore records a whole burst into the active one inside one critical section of
 * HdrHistogram's {@link WriterReaderPhaser} (one atomic increment on entry and one on exit per
 * burst, wait-free, nothing allocated); the reader ({@link #addTo}, {@link #reset}) swaps in the
 * other one, flips the phase (waiting for a burst in progress to finish), and adds what it took
 * out to a cumulative histogram it keeps. This is HdrHistogram's {@code SingleWriterRecorder} with
 * the critical section around the burst instead of around each packet.
 *
 * <p>Only IPv4/UDP frames whose payload starts with a timed stamp count. A stamp later than the
 * receive time (clocks that are not one: never the case on one Linux host) is counted in
 * {@link #negative()} and not recorded; a latency above {@link #HIGHEST_NANOS} is recorded as that.
 */
public final class LatencyRecorder {

    /** 10 s: the largest latency the histogram tells apart; larger ones are recorded as this. */
    public static final long HIGHEST_NANOS = 10_000_000_000L;

    public static final int SIGNIFICANT_DIGITS = 3;

    private final WriterReaderPhaser phaser = new WriterReaderPhaser();
    private volatile Histogram active = newHistogram();
    // written by the lcore only
    private final Counter negative = new Counter();
    private final Counter clipped = new Counter();
    // the reader's side, under this object's lock
    private Histogram inactive = newHistogram();
    private final Histogram total = newHistogram();
    private long negativeBase;
    private long clippedBase;

    /** Records the timed packets of {@code burst.handles[0..n)}; called by the lcore right after rx. */
    public void record(PacketPool pool, PacketBurst burst, int n) {
        long now = System.nanoTime();
        MemorySegment mem = pool.segment();
        int[] h = burst.handles;
        long phase = phaser.writerCriticalSectionEnter();
        try {
            recordBurst(active, pool, mem, h, n, now);
        } finally {
            phaser.writerCriticalSectionExit(phase);
        }
    }

    private void recordBurst(Histogram into, PacketPool pool, MemorySegment mem, int[] h, int n, long now) {
        for (int i = 0; i < n; i++) {
            int p = h[i];
            long f = pool.dataOffset(p);
            int len = pool.length(p);
            if (len >= Packets.PAYLOAD + PayloadStamp.SIZE
                    && Packets.u16(mem, f + Packets.ETH_TYPE) == Packets.ETHERTYPE_IPV4
                    && Packets.u8(mem, f + Packets.IP + 9) == Packets.PROTO_UDP
                    && PayloadStamp.timed(mem, f + Packets.PAYLOAD, len - Packets.PAYLOAD)) {
                long ns = now - PayloadStamp.nanos(mem, f + Packets.PAYLOAD);
                if (ns < 0) {
                    negative.add(1);
                } else if (ns > HIGHEST_NANOS) {
                    clipped.add(1);
                    into.recordValue(HIGHEST_NANOS);
                } else {
                    into.recordValue(ns);
                }
            }
        }
    }

    /** Adds everything recorded since the last {@link #reset} to {@code into}; any thread. */
    public synchronized void addTo(Histogram into) {
        harvest();
        into.add(total);
    }

    /** Forgets what was recorded so far (a packet recorded meanwhile may land on either side). */
    public synchronized void reset() {
        harvest();
        total.reset();
        negativeBase = negative.get();
        clippedBase = clipped.get();
    }

    private void harvest() {
        phaser.readerLock();
        try {
            Histogram taken = active;
            inactive.reset();
            active = inactive;
            phaser.flipPhase();
            total.add(taken);
            inactive = taken;
        } finally {
            phaser.readerUnlock();
        }
    }

    /** Timed packets whose stamp was later than their arrival since the last reset: not recorded. */
    public synchronized long negative() {
        return negative.get() - negativeBase;
    }

    /** Latencies above {@link #HIGHEST_NANOS} since the last reset, recorded as that. */
    public synchronized long clipped() {
        return clipped.get() - clippedBase;
    }

    /** An empty histogram of the range recorders use, to merge them into. */
    public static Histogram newHistogram() {
        return new Histogram(1, HIGHEST_NANOS, SIGNIFICANT_DIGITS);
    }
}
