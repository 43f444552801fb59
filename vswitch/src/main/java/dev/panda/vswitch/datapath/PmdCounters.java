package dev.panda.vswitch.datapath;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * What one data-path thread measures of itself, as OVS's pmd-stats-show and pmd-perf-show:
 * iterations, those that moved packets, packets, busy time, the longest iteration and how many
 * took over 250 us. Written by the owner thread only (opaque stores); a clear request from the
 * control side is carried out by the owner at its next iteration.
 */
public final class PmdCounters {

    private static final long LONG_ITERATION_NS = 250_000;
    private static final VarHandle ITER, BUSY_ITER, PACKETS, BUSY_NS, MAX_NS, OVER, SINCE;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            ITER = l.findVarHandle(PmdCounters.class, "iterations", long.class);
            BUSY_ITER = l.findVarHandle(PmdCounters.class, "busyIterations", long.class);
            PACKETS = l.findVarHandle(PmdCounters.class, "packets", long.class);
            BUSY_NS = l.findVarHandle(PmdCounters.class, "busyNs", long.class);
            MAX_NS = l.findVarHandle(PmdCounters.class, "maxIterationNs", long.class);
            OVER = l.findVarHandle(PmdCounters.class, "over250us", long.class);
            SINCE = l.findVarHandle(PmdCounters.class, "sinceNs", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private long iterations;
    private long busyIterations;
    private long packets;
    private long busyNs;
    private long maxIterationNs;
    private long over250us;
    private long sinceNs = System.nanoTime();
    private volatile boolean clearRequested;

    /** Records one iteration that took {@code ns} and moved {@code n} packets (owner thread). */
    public void iteration(long ns, int n) {
        if (clearRequested) {
            clearRequested = false;
            ITER.setOpaque(this, 0L);
            BUSY_ITER.setOpaque(this, 0L);
            PACKETS.setOpaque(this, 0L);
            BUSY_NS.setOpaque(this, 0L);
            MAX_NS.setOpaque(this, 0L);
            OVER.setOpaque(this, 0L);
            SINCE.setOpaque(this, System.nanoTime());
            return;
        }
        ITER.setOpaque(this, iterations + 1);
        if (n > 0) {
            BUSY_ITER.setOpaque(this, busyIterations + 1);
            PACKETS.setOpaque(this, packets + n);
            BUSY_NS.setOpaque(this, busyNs + ns);
        }
        if (ns > maxIterationNs) {
            MAX_NS.setOpaque(this, ns);
        }
        if (ns > LONG_ITERATION_NS) {
            OVER.setOpaque(this, over250us + 1);
        }
    }

    /** Asks the owner to zero the counters at its next iteration. */
    public void requestClear() {
        clearRequested = true;
    }

    public long iterations() {
        return (long) ITER.getOpaque(this);
    }

    public long busyIterations() {
        return (long) BUSY_ITER.getOpaque(this);
    }

    public long packets() {
        return (long) PACKETS.getOpaque(this);
    }

    public long busyNs() {
        return (long) BUSY_NS.getOpaque(this);
    }

    public long maxIterationNs() {
        return (long) MAX_NS.getOpaque(this);
    }

    public long over250us() {
        return (long) OVER.getOpaque(this);
    }

    /** When the counters were last cleared (System.nanoTime). */
    public long sinceNs() {
        return (long) SINCE.getOpaque(this);
    }
}
