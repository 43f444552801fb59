package dev.panda.dataplane.mem;

import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.Posix;
import java.lang.foreign.MemorySegment;

/**
 * A pool of fixed-size packet buffers carved from one memfd region mapped MAP_SHARED.
 *
 * <p>A packet is an {@code int} handle (the buffer index). Each buffer has a metadata record (data
 * offset, length, port, hash, state) of four ints in one preallocated {@code int[]}, so no Java
 * object exists per packet, the forwarding path reads metadata with plain array loads, and the
 * region holds packet bytes only: it (fd + size) can be offered whole to a peer. Metadata written
 * by one thread is seen by the next owner through the release/acquire of the ring or lock that
 * handed the buffer over.
 *
 * <p>Region layout: {@code [buffer 0][buffer 1]...}; each buffer is {@code headroom + dataRoom}
 * bytes rounded up to a 64-byte cache line.
 *
 * <p>Allocation and release are thread safe (one lock taken per burst, never per packet by the
 * bulk calls). A buffer freed twice is not returned to the free list again: it is counted in
 * {@link #doubleFrees()} so a port bug shows up in the conformance suite instead of corrupting
 * the pool.
 */
public final class PacketPool implements AutoCloseable {

    /** Ints per metadata record: data offset, data length, port and flags, hash. */
    private static final int META_INTS = 4;

    private static final int OFF = 0;
    private static final int LEN = 1;
    private static final int PORT_STATE = 2;
    private static final int HASH = 3;

    private static final int STATE_FREE = 0;
    private static final int STATE_IN_USE = 1;
    private static final long HUGE_PAGE = 2L << 20;
    private static final long PAGE = 4096;

    private final PoolConfig config;
    private final Fd fd;
    private final MemorySegment region;
    private final boolean hugepages;
    private final long stride;
    private final int count;
    private final int headroom;
    private final int dataRoom;

    private final int[] meta;
    /** Per buffer, how many times it was allocated (wrapping); see {@link #allocations}. */
    private final int[] allocations;

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
        this.meta = new int[count * META_INTS];
        this.allocations = new int[count];
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
                    throw new IllegalStateException(
                            "hugepages were required but the pool could not use them: " + e.getMessage()
                                    + " (set /proc/sys/vm/nr_hugepages, or run scripts/setup)",
                            e);
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
            MemorySegment seg =
                    Posix.mmap(size, Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_SHARED | Posix.MAP_POPULATE, fd, 0);
            return new PacketPool(config, fd, seg, huge);
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    private static long roundUp(long v, long to) {
        return (v + to - 1) / to * to;
    }

    // ---- handles -------------------------------------------------------------------------

    /** The whole mapped region: the buffers only (their metadata is on the Java heap). */
    public MemorySegment segment() {
        return region;
    }

    /** Offset of the first byte of the packet's data in {@link #segment()}. */
    public long dataOffset(int h) {
        return bufferOffset(h) + meta[h * META_INTS + OFF];
    }

    /** Offset of the buffer (start of headroom) in {@link #segment()}. */
    public long bufferOffset(int h) {
        return h * stride;
    }

    public int length(int h) {
        return meta[h * META_INTS + LEN];
    }

    public void setLength(int h, int len) {
        int m = h * META_INTS;
        checkFits(h, len, meta[m + OFF]);
        meta[m + LEN] = len;
    }

    /** Refuses a length that would run past buffer {@code h}'s end from data offset {@code off}. */
    private void checkFits(int h, int len, int off) {
        if (len < 0 || len > dataRoom + headroom - off) {
            throw new IllegalArgumentException("length " + len + " does not fit buffer " + h);
        }
    }

    /**
     * What a receive burst does per packet, in one call: sets the packet's length and input port
     * and returns its data offset (where to copy the {@code len} bytes).
     */
    public long received(int h, int len, int port) {
        int m = h * META_INTS;
        int off = meta[m + OFF];
        checkFits(h, len, off);
        meta[m + LEN] = len;
        putPort(m, port);
        return h * stride + off;
    }

    /** Moves the data start by {@code delta} bytes (negative prepends into the headroom). */
    public void adjust(int h, int delta) {
        int m = h * META_INTS;
        int off = meta[m + OFF] + delta;
        int len = meta[m + LEN] - delta;
        if (off < 0 || len < 0 || off + len > headroom + dataRoom) {
            throw new IllegalArgumentException("adjust by " + delta + " leaves buffer " + h);
        }
        meta[m + OFF] = off;
        meta[m + LEN] = len;
    }

    public int port(int h) {
        return meta[h * META_INTS + PORT_STATE] >>> 16;
    }

    public void setPort(int h, int port) {
        putPort(h * META_INTS, port);
    }

    /** Sets the port half of record {@code m}'s port-and-state word, keeping the state. */
    private void putPort(int m, int port) {
        meta[m + PORT_STATE] = (port & 0xffff) << 16 | (meta[m + PORT_STATE] & 0xffff);
    }

    public int hash(int h) {
        return meta[h * META_INTS + HASH];
    }

    public void setHash(int h, int hash) {
        meta[h * META_INTS + HASH] = hash;
    }

    /** True while the buffer is allocated (not on the free list). */
    public boolean inUse(int h) {
        return (meta[h * META_INTS + PORT_STATE] & 0xffff) == STATE_IN_USE;
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
        allocations[h]++;
        int m = h * META_INTS;
        meta[m + OFF] = headroom;
        meta[m + LEN] = 0;
        meta[m + PORT_STATE] = STATE_IN_USE;
        meta[m + HASH] = 0;
    }

    /**
     * How many times buffer {@code h} has been allocated (wrapping at 2^32). A holder that wrote
     * the buffer can tell, when it gets it again, whether anyone else allocated it in between: if
     * not, the bytes it wrote past the headers are still there, because the pool's users change a
     * buffer's bytes only after allocating it, or, forwarding a frame they received, in its headers
     * (MAC, VLAN, IP and transport headers, or in front of them through the headroom).
     * Read it on the thread that holds the buffer.
     */
    public int allocations(int h) {
        return allocations[h];
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
        int m = h * META_INTS + PORT_STATE;
        if ((meta[m] & 0xffff) != STATE_IN_USE) {
            doubleFrees++;
            return;
        }
        meta[m] = STATE_FREE;
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
        return "PacketPool[" + count + " x " + stride + " B, " + (hugepages ? "hugetlb" : "4K pages") + ", "
                + (region.byteSize() >> 20) + " MiB]";
    }
}
