package dev.panda.dataplane.ports.ring;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.IntConsumer;

/**
 * A bounded single-producer single-consumer ring of int handles.
 *
 * <p>The producer publishes its tail with a release store after writing the slots; the consumer
 * reads the tail with an acquire load before reading them, and publishes its head the same way,
 * so slots are never read before they are written nor overwritten before they are read. Each side
 * caches the other side's index and re-reads it only when the cached value says the ring is full
 * (or empty), so a burst costs one acquire load at most. Indices live 128 bytes apart in one
 * array so producer and consumer never write the same cache line.
 */
public final class SpscIntRing {

    private static final VarHandle IDX = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int HEAD = 16; // consumer's published index
    private static final int TAIL_CACHE = 17; // consumer's cached copy of TAIL
    private static final int TAIL = 32; // producer's published index
    private static final int HEAD_CACHE = 33; // producer's cached copy of HEAD
    private static final int SLOTS = 48;

    private final int[] buffer;
    private final int mask;
    private final long[] idx = new long[SLOTS];
    private final String name;

    public SpscIntRing(String name, int capacity) {
        if (capacity < 2 || Integer.bitCount(capacity) != 1 || capacity > (1 << 24)) {
            throw new IllegalArgumentException(
                    "ring size must be a power of two 2.." + (1 << 24) + ", got " + capacity);
        }
        this.name = name;
        this.buffer = new int[capacity];
        this.mask = capacity - 1;
    }

    /** Producer side: enqueues up to {@code n} handles from {@code src[off..]}; returns how many. */
    public int offer(int[] src, int off, int n) {
        long tail = idx[TAIL];
        long head = idx[HEAD_CACHE];
        int capacity = mask + 1;
        if (capacity - (int) (tail - head) < n) {
            head = (long) IDX.getAcquire(idx, HEAD);
            idx[HEAD_CACHE] = head;
        }
        int k = Math.min(n, capacity - (int) (tail - head));
        if (k > 0) {
            int at = (int) tail & mask;
            int first = Math.min(k, capacity - at);
            System.arraycopy(src, off, buffer, at, first);
            System.arraycopy(src, off + first, buffer, 0, k - first);
            IDX.setRelease(idx, TAIL, tail + k);
        }
        return k;
    }

    /** Consumer side: dequeues up to {@code n} handles into {@code dst[off..]}; returns how many. */
    public int poll(int[] dst, int off, int n) {
        long head = idx[HEAD];
        long tail = idx[TAIL_CACHE];
        if ((int) (tail - head) < n) {
            tail = (long) IDX.getAcquire(idx, TAIL);
            idx[TAIL_CACHE] = tail;
        }
        int k = Math.min(n, (int) (tail - head));
        if (k > 0) {
            int at = (int) head & mask;
            int first = Math.min(k, mask + 1 - at);
            System.arraycopy(buffer, at, dst, off, first);
            System.arraycopy(buffer, 0, dst, off + first, k - first);
            IDX.setRelease(idx, HEAD, head + k);
        }
        return k;
    }

    /** Handles currently queued (exact when neither side is running). */
    public int size() {
        return (int) ((long) IDX.getAcquire(idx, TAIL) - (long) IDX.getAcquire(idx, HEAD));
    }

    public int capacity() {
        return mask + 1;
    }

    /** Consumer side: hands every queued handle to {@code sink}; used when a port closes. */
    public int drain(IntConsumer sink) {
        int[] one = new int[1];
        int n = 0;
        while (poll(one, 0, 1) == 1) {
            sink.accept(one[0]);
            n++;
        }
        return n;
    }

    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return "SpscIntRing[" + name + ", " + size() + "/" + capacity() + "]";
    }
}
