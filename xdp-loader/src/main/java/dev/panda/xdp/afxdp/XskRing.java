package dev.panda.xdp.afxdp;

import dev.panda.jextract.uapi.xdp_desc;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * One AF_XDP ring (fill, completion, rx or tx) mapped from the socket: a u32 producer, a u32
 * consumer, a u32 flags word and a power-of-two array of entries (u64 addresses for the fill and
 * completion rings, {@code struct xdp_desc} for rx and tx), at the offsets XDP_MMAP_OFFSETS gives.
 *
 * <p>The protocol (kernel Documentation/networking/af_xdp.rst, "Rings", and the comments of
 * net/xdp/xsk_queue.h): the side that produces writes entries, then publishes the producer
 * index with a store-release; the side that consumes reads the producer with a load-acquire
 * before it reads entries, and hands slots back by publishing the consumer index with a
 * store-release; the producer reads the consumer with a load-acquire before reusing slots.
 * Indices are free-running u32s; an entry lives at {@code index & (size - 1)}. The opposite index
 * is cached and re-read only when the cached view runs out, so a burst costs one acquire and one
 * release. One thread drives a given ring.
 */
final class XskRing {

    private static final VarHandle U32 = ValueLayout.JAVA_INT.varHandle();
    /** {@code struct xdp_desc} (if_xdp.h): u64 addr, u32 len, u32 options. */
    private static final long DESC_LEN = xdp_desc.layout().byteOffset(MemoryLayout.PathElement.groupElement("len"));

    private static final long DESC_OPTIONS =
            xdp_desc.layout().byteOffset(MemoryLayout.PathElement.groupElement("options"));

    static {
        if (xdp_desc.layout().byteOffset(MemoryLayout.PathElement.groupElement("addr")) != 0) {
            throw new ExceptionInInitializerError("struct xdp_desc: addr is not at offset 0");
        }
    }

    private static final int NEED_WAKEUP = dev.panda.jextract.uapi.Uapi.XDP_RING_NEED_WAKEUP();

    private final MemorySegment map;
    private final long producer;
    private final long consumer;
    private final long flags;
    private final long desc;
    private final int size;
    private final int mask;
    private final int entryBytes;
    private int cachedProd;
    private int cachedCons;

    /**
     * @param producerSide true for the rings this process produces into (fill, tx): the cached
     *                     consumer then starts one ring ahead, so free slots are
     *                     {@code cachedCons - cachedProd}, as libxdp's xsk_prod_nb_free counts
     */
    XskRing(
            MemorySegment map,
            long producer,
            long consumer,
            long flags,
            long desc,
            int size,
            int entryBytes,
            boolean producerSide) {
        this.map = map;
        this.producer = producer;
        this.consumer = consumer;
        this.flags = flags;
        this.desc = desc;
        this.size = size;
        this.mask = size - 1;
        this.entryBytes = entryBytes;
        this.cachedProd = (int) U32.getAcquire(map, producer);
        this.cachedCons = (int) U32.getAcquire(map, consumer) + (producerSide ? size : 0);
    }

    int size() {
        return size;
    }

    // ---- producer side (fill, tx) ------------------------------------------------------

    /** How many of {@code n} slots are free to write, refreshing the consumer when needed. */
    int free(int n) {
        int free = cachedCons - cachedProd;
        if (free >= n) {
            return n;
        }
        // acquire: the kernel has finished with the slots it consumed before we overwrite them
        cachedCons = (int) U32.getAcquire(map, consumer) + size;
        free = cachedCons - cachedProd;
        return Math.min(free, n);
    }

    /** Writes the u64 address of the i-th slot after the producer (fill ring). */
    void putAddr(int i, long addr) {
        map.set(ValueLayout.JAVA_LONG, desc + (long) ((cachedProd + i) & mask) * 8, addr);
    }

    /** Writes the i-th descriptor after the producer (tx ring). */
    void putDesc(int i, long addr, int len) {
        long off = desc + (long) ((cachedProd + i) & mask) * entryBytes;
        map.set(ValueLayout.JAVA_LONG, off, addr);
        map.set(ValueLayout.JAVA_INT, off + DESC_LEN, len);
        map.set(ValueLayout.JAVA_INT, off + DESC_OPTIONS, 0);
    }

    /** Publishes {@code n} written slots: release, so the kernel sees the entries first. */
    void submit(int n) {
        cachedProd += n;
        U32.setRelease(map, producer, cachedProd);
    }

    // ---- consumer side (rx, completion) ---------------------------------------------------

    /** How many entries (up to {@code n}) are ready to read, refreshing the producer when needed. */
    int available(int n) {
        int avail = cachedProd - cachedCons;
        if (avail == 0) {
            // acquire: entries the kernel published are visible before we read them
            cachedProd = (int) U32.getAcquire(map, producer);
            avail = cachedProd - cachedCons;
        }
        return Math.min(avail, n);
    }

    /** The u64 address of the i-th ready entry (completion ring). */
    long addrAt(int i) {
        return map.get(ValueLayout.JAVA_LONG, desc + (long) ((cachedCons + i) & mask) * 8);
    }

    /** The address of the i-th ready descriptor (rx ring). */
    long descAddr(int i) {
        return map.get(ValueLayout.JAVA_LONG, descOffset(i));
    }

    /** The length of the descriptor at {@code off} (from {@link #descOffset}). */
    int lenAt(long off) {
        return map.get(ValueLayout.JAVA_INT, off + DESC_LEN);
    }

    /** The address of the descriptor at {@code off} (from {@link #descOffset}). */
    long addrAtOffset(long off) {
        return map.get(ValueLayout.JAVA_LONG, off);
    }

    /** The length of the i-th ready descriptor (rx ring). */
    int descLen(int i) {
        return map.get(ValueLayout.JAVA_INT, descOffset(i) + DESC_LEN);
    }

    /** Where the i-th ready descriptor sits in {@link #mapping()} (addr at +0, len at {@link #descLen}'s offset). */
    long descOffset(int i) {
        return desc + (long) ((cachedCons + i) & mask) * entryBytes;
    }

    /** Hands {@code n} read entries back to the kernel: release, after our reads. */
    void release(int n) {
        cachedCons += n;
        U32.setRelease(map, consumer, cachedCons);
    }

    /** Entries published by the producer and not yet consumed (for close-time accounting). */
    int pendingForConsumer() {
        return (int) U32.getAcquire(map, producer) - cachedCons;
    }

    /**
     * XDP_RING_NEED_WAKEUP (af_xdp.rst, "XDP_USE_NEED_WAKEUP bind flag"): the kernel asks for a
     * syscall (sendto for tx, recvfrom or poll for fill) before it makes progress.
     */
    boolean needsWakeup() {
        return ((int) U32.getOpaque(map, flags) & NEED_WAKEUP) != 0;
    }

    MemorySegment mapping() {
        return map;
    }
}
