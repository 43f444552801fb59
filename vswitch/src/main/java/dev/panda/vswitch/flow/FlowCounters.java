package dev.panda.vswitch.flow;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Packet and byte counts kept in one slot per data-path thread: thread i writes slot i alone
 * (opaque stores, no lock, no atomic read-modify-write); the control side sums the slots. A
 * thread index beyond the slots shares one with an atomic add. A reset records the current sums
 * as the new zero, since the control side may not write a slot a data-path thread owns.
 */
final class FlowCounters {

    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] slots; // [2*i] packets, [2*i+1] bytes
    private final int threads;
    private volatile long basePackets;
    private volatile long baseBytes;

    FlowCounters(int threads) {
        this.threads = Math.max(1, threads);
        this.slots = new long[this.threads * 2];
    }

    /** One packet of {@code bytes} counted by data-path thread {@code thread}. */
    void add(int thread, int bytes) {
        if (thread < threads) {
            int i = thread * 2;
            LONGS.setOpaque(slots, i, slots[i] + 1);
            LONGS.setOpaque(slots, i + 1, slots[i + 1] + bytes);
        } else {
            int i = (thread % threads) * 2;
            LONGS.getAndAdd(slots, i, 1L);
            LONGS.getAndAdd(slots, i + 1, (long) bytes);
        }
    }

    private long sum(int off) {
        long s = 0;
        for (int i = off; i < slots.length; i += 2) {
            s += (long) LONGS.getOpaque(slots, i);
        }
        return s;
    }

    long packets() {
        return sum(0) - basePackets;
    }

    long bytes() {
        return sum(1) - baseBytes;
    }

    /** Raw packet sum (not reset), for the sweeper's idle check. */
    long rawPackets() {
        return sum(0);
    }

    void reset() {
        basePackets = sum(0);
        baseBytes = sum(1);
    }
}
