package dev.panda.dataplane.mem;

import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.Posix;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

/**
 * A pool of fixed-size packet buffers carved from one memfd region mapped MAP_SHARED.
 *
 * <p>A packet is an {@code int} handle (the buffer index). Each buffer has a small metadata record
 * (data offset, length, port, hash, state) in a table at the front of the same region, so no Java
 * object exists per packet and the whole region (fd + size) can later be offered to a peer.
 *
 * <p>Region layout: {@code [meta table: count * 32 B, padded to a page][buffer 0][buffer 1]...};
 * each buffer is {@code headroom + dataRoom} bytes rounded up to a 64-byte cache line.
 *
 * <p>Allocation and release are thread safe (one lock taken per burst, never per packet by the
 * bulk calls). A buffer freed twice is not returned to the free list again: it is counted in
 * {@link #doubleFrees()} so a port bug shows up in the conformance suite instead of corrupting
 * the pool.
 */
public final class PacketPool implements AutoCloseable {

    /** Metadata record of one buffer. */
    public static final StructLayout META = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("data_off"),
            ValueLayout.JAVA_INT.withName("data_len"),
            ValueLayout.JAVA_SHORT.withName("port"),
            ValueLayout.JAVA_SHORT.withName("flags"),
            ValueLayout.JAVA_INT.withName("hash"),
            ValueLayout.JAVA_INT.withName("state"),
            MemoryLayout.paddingLayout(12)).withName("panda_pkt_meta");

    private static final long META_SIZE = META.byteSize();
    private static final VarHandle DATA_OFF = fieldHandle("data_off");
    private static final VarHandle DATA_LEN = fieldHandle("data_len");
    private static final VarHandle PORT = fieldHandle("port");
    private static final VarHandle HASH = fieldHandle("hash");
    private static final VarHandle STATE = fieldHandle("state");

    private static final int STATE_FREE = 0;
    private static final int STATE_IN_USE = 1;
    private static final long HUGE_PAGE = 2L << 20;
    private static final long PAGE = 4096;

    private final PoolConfig config;
    private final Fd fd;
    private final MemorySegment region;
    private final boolean hugepages;
    private final long bufStart;
    private final long stride;
    private final int count;
    private final int headroom;
    private final int dataRoom;

    private final Object lock = new Object();
    private final int[] freeStack;
    private int freeTop;
    private long doubleFrees;
    private boolean closed;

    private PacketPool(PoolConfig config, Fd fd, MemorySegment region, boolean hugepages) {
        this.config = config;
        this.fd = fd;
        this.region = region;
        this.hugepages = hugepages;
        this.count = config.count();
        this.headroom = config.headroom();
        this.dataRoom = config.dataRoom();
        this.stride = config.stride();
        this.bufStart = config.metaBytes();
        this.freeStack = new int[count];
        // Lowest index on top, so a fresh pool hands out buffers in address order.
        for (int i = 0; i < count; i++) {
            freeStack[i] = count - 1 - i;
        }
        this.freeTop = count;
    }

    /** Creates a pool as the config says: hugetlb when asked for and available, 4 KiB pages otherwise. */
    public static PacketPool create(PoolConfig config) {
        if (config.hugepages() != PoolConfig.Hugepages.OFF) {
            try {
                return map(config, true);
            } catch (NativeException e) {
                if (config.hugepages() == PoolConfig.Hugepages.ON) {
                    throw new IllegalStateException("hugepages were required but the pool could not use them: "
                            + e.getMessage() + " (set /proc/sys/vm/nr_hugepages, or run scripts/setup)", e);
                }
            }
        }
        return map(config, false);
    }

    private static PacketPool map(PoolConfig config, boolean huge) {
        long size = roundUp(config.regionBytes(), huge ? HUGE_PAGE : PAGE);
        Fd fd = Posix.memfdCreate("panda-pool", Posix.MFD_CLOEXEC | (huge ? Posix.MFD_HUGETLB : 0));
        try {
            Posix.ftruncate(fd, size);
            MemorySegment seg = Posix.mmap(size, Posix.PROT_READ | Posix.PROT_WRITE,
                    Posix.MAP_SHARED | Posix.MAP_POPULATE, fd, 0);
            return new PacketPool(config, fd, seg, huge);
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    private static long roundUp(long v, long to) {
        return (v + to - 1) / to * to;
    }

    private static VarHandle fieldHandle(String name) {
        return META.varHandle(groupElement(name));
    }

    // ---- handles -------------------------------------------------------------------------

    /** The whole mapped region: metadata table and buffers. */
    public MemorySegment segment() {
        return region;
    }

    /** Offset of the first byte of the packet's data in {@link #segment()}. */
    public long dataOffset(int h) {
        return bufferOffset(h) + (int) DATA_OFF.get(region, metaOffset(h));
    }

    /** Offset of the buffer (start of headroom) in {@link #segment()}. */
    public long bufferOffset(int h) {
        return bufStart + h * stride;
    }

    public int length(int h) {
        return (int) DATA_LEN.get(region, metaOffset(h));
    }

    public void setLength(int h, int len) {
        if (len < 0 || len > dataRoom + headroom - (int) DATA_OFF.get(region, metaOffset(h))) {
            throw new IllegalArgumentException("length " + len + " does not fit buffer " + h);
        }
        DATA_LEN.set(region, metaOffset(h), len);
    }

    /** Moves the data start by {@code delta} bytes (negative prepends into the headroom). */
    public void adjust(int h, int delta) {
        long m = metaOffset(h);
        int off = (int) DATA_OFF.get(region, m) + delta;
        int len = (int) DATA_LEN.get(region, m) - delta;
        if (off < 0 || len < 0 || off + len > headroom + dataRoom) {
            throw new IllegalArgumentException("adjust by " + delta + " leaves buffer " + h);
        }
        DATA_OFF.set(region, m, off);
        DATA_LEN.set(region, m, len);
    }

    public int port(int h) {
        return Short.toUnsignedInt((short) PORT.get(region, metaOffset(h)));
    }

    public void setPort(int h, int port) {
        PORT.set(region, metaOffset(h), (short) port);
    }

    public int hash(int h) {
        return (int) HASH.get(region, metaOffset(h));
    }

    public void setHash(int h, int hash) {
        HASH.set(region, metaOffset(h), hash);
    }

    /** True while the buffer is allocated (not on the free list). */
    public boolean inUse(int h) {
        return (int) STATE.get(region, metaOffset(h)) == STATE_IN_USE;
    }

    private long metaOffset(int h) {
        return h * META_SIZE;
    }

    // ---- allocation ----------------------------------------------------------------------

    /** One buffer, or -1 when the pool is empty. */
    public int alloc() {
        int h;
        synchronized (lock) {
            if (freeTop == 0) {
                return -1;
            }
            h = freeStack[--freeTop];
        }
        reset(h);
        return h;
    }

    /**
     * Allocates up to {@code n} buffers into {@code dst[off..]}; returns how many it got (fewer
     * when the pool runs low, 0 when empty). Never blocks.
     */
    public int allocBulk(int[] dst, int off, int n) {
        int got;
        synchronized (lock) {
            got = Math.min(n, freeTop);
            int top = freeTop;
            for (int i = 0; i < got; i++) {
                dst[off + i] = freeStack[--top];
            }
            freeTop = top;
        }
        for (int i = 0; i < got; i++) {
            reset(dst[off + i]);
        }
        return got;
    }

    private void reset(int h) {
        long m = metaOffset(h);
        DATA_OFF.set(region, m, headroom);
        DATA_LEN.set(region, m, 0);
        PORT.set(region, m, (short) 0);
        HASH.set(region, m, 0);
        STATE.set(region, m, STATE_IN_USE);
    }

    public void free(int h) {
        checkHandle(h);
        synchronized (lock) {
            release(h);
        }
    }

    /** Returns {@code n} buffers from {@code src[off..]} to the pool. */
    public void freeBulk(int[] src, int off, int n) {
        if (n <= 0) {
            return;
        }
        synchronized (lock) {
            for (int i = 0; i < n; i++) {
                int h = src[off + i];
                checkHandle(h);
                release(h);
            }
        }
    }

    private void release(int h) {
        long m = metaOffset(h);
        if ((int) STATE.get(region, m) != STATE_IN_USE) {
            doubleFrees++;
            return;
        }
        STATE.set(region, m, STATE_FREE);
        freeStack[freeTop++] = h;
    }

    private void checkHandle(int h) {
        if (h < 0 || h >= count) {
            throw new IllegalArgumentException("not a buffer of this pool: " + h);
        }
    }

    // ---- facts ---------------------------------------------------------------------------

    public int available() {
        synchronized (lock) {
            return freeTop;
        }
    }

    public int capacity() {
        return count;
    }

    public int headroom() {
        return headroom;
    }

    public int dataRoom() {
        return dataRoom;
    }

    /** Largest packet a buffer holds when the data starts at the default headroom. */
    public int maxPacketLength() {
        return dataRoom;
    }

    public long stride() {
        return stride;
    }

    public long doubleFrees() {
        synchronized (lock) {
            return doubleFrees;
        }
    }

    public boolean hugepages() {
        return hugepages;
    }

    /** The memfd behind the region, for peers that map the same memory. */
    public Fd fd() {
        return fd;
    }

    public long regionBytes() {
        return region.byteSize();
    }

    public PoolConfig config() {
        return config;
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        Posix.munmap(region);
        fd.close();
    }

    @Override
    public String toString() {
        return "PacketPool[" + count + " x " + stride + " B, " + (hugepages ? "hugetlb" : "4K pages")
                + ", " + (region.byteSize() >> 20) + " MiB]";
    }
}
