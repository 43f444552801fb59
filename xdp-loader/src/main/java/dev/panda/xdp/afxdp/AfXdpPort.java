package dev.panda.xdp.afxdp;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.AbstractPort;
import dev.panda.dataplane.port.KernelInterface;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.xdp.prefilter.Prefilter;

/**
 * {@code net_af_xdp}: queues {@code start_queue .. start_queue + queue_count - 1} of a kernel
 * interface through AF_XDP sockets, one per queue, sharing one UMEM that is panda's packet pool.
 *
 * <p>Buffer ownership: a buffer is the port's while its address sits in a fill or tx ring (the
 * kernel's), and the caller's once rxBurst returned it or txBurst's completion came back (then it
 * goes back to the pool). Each queue keeps two bitmaps (fill/rx side, tx/completion side, each
 * touched by one thread only) so {@link #close()} returns exactly the buffers still out, after the
 * sockets are closed and the kernel can no longer touch them.
 *
 * <p>Rx: refill the fill ring from the pool, read rx descriptors, set each buffer's data offset
 * and length from the descriptor (the kernel writes after XDP_PACKET_HEADROOM), release. Tx:
 * reap completions into the pool, write descriptors, publish, kick with sendto when the ring asks
 * (need_wakeup; in copy mode it always does). Nothing here allocates per packet.
 */
public final class AfXdpPort extends AbstractPort {

    private final String iface;
    private final PacketPool pool;
    private final XskSocket[] socks;
    private final int startQueue;
    private final long stride;
    /** ceil(2^64 / stride): {@code multiplyHigh(offset, strideInverse)} is offset / stride without a divide. */
    private final long strideInverse;

    private final int capacity;
    /** Refill a queue's fill ring once this many of its buffers came back; 0: top it up every burst. */
    private final int fillBatch;
    /**
     * Per queue: how many buffers the fill ring lacks to be full, counted locally (prime leaves it
     * half full, every received packet adds one, every refilled buffer takes one), so deciding to
     * refill never reads the kernel's consumer index.
     */
    private final int[] fillDeficit;
    /** SO_PREFER_BUSY_POLL is set: an empty poll runs the device's NAPI once (recvfrom). */
    private final boolean busyPoll;

    private final long[][] rxOwned;
    private final long[][] txOwned;
    private final int[][] scratch;
    private final Prefilter prefilter;
    private final AutoCloseable onClose;
    private boolean closed;

    AfXdpPort(
            String name,
            String iface,
            PacketPool pool,
            XskSocket[] socks,
            int startQueue,
            long mac,
            Prefilter prefilter,
            int fillBatch,
            boolean busyPoll,
            AutoCloseable onClose) {
        super(name, AfXdpPortDriver.NAME, socks.length, socks.length, mac);
        this.iface = iface;
        this.pool = pool;
        this.socks = socks;
        this.startQueue = startQueue;
        this.stride = pool.stride();
        this.strideInverse = strideInverse(stride);
        this.fillBatch = fillBatch;
        this.busyPoll = busyPoll;
        this.capacity = pool.capacity();
        this.prefilter = prefilter;
        this.onClose = onClose;
        int q = socks.length;
        this.rxOwned = new long[q][(capacity + 63) >>> 6];
        this.txOwned = new long[q][(capacity + 63) >>> 6];
        this.scratch = new int[q * 2][PacketBurst.MAX_BURST];
        this.fillDeficit = new int[q];
    }

    /**
     * ceil(2^64 / d) for 2 < d < 2^31: then {@code Math.multiplyHigh(x, inverse) == x / d} for
     * every 0 <= x < 2^64 / d (x = q*d + r: x * inverse / 2^64 = x/d + x*e/(d*2^64) with e < d,
     * and the error stays below 1/d, so the floor is q). Pool regions are far below that bound;
     * an address beyond it is still caught by the ownership and bounds checks of rxBurst.
     */
    static long strideInverse(long d) {
        if (d <= 2 || d >= 1L << 31) {
            throw new IllegalArgumentException("stride " + d + " out of 3..2^31-1");
        }
        return Long.divideUnsigned(-1L, d) + 1;
    }

    /** {@code x / d} through {@link #strideInverse}, for 0 <= x < 2^64 / d. */
    static long divide(long x, long inverse) {
        return Math.multiplyHigh(x, inverse);
    }

    /** Puts {@code n} buffers on each queue's fill ring so the kernel can receive at once. */
    void prime(int perQueue) {
        for (int q = 0; q < socks.length; q++) {
            int left = perQueue;
            while (left > 0) {
                int k = refill(q, Math.min(left, PacketBurst.MAX_BURST));
                if (k == 0) {
                    break;
                }
                left -= k;
            }
            // the rest of the ring, and what the pool could not give now, rxBurst asks for later
            fillDeficit[q] = socks[q].fill.size() - (perQueue - left);
        }
    }

    private int refill(int q, int want) {
        XskRing fill = socks[q].fill;
        int n = fill.free(want);
        if (n == 0) {
            return 0;
        }
        int[] hs = scratch[2 * q];
        int got = pool.allocBulk(hs, 0, n);
        if (got < n) {
            rxCounters[q].addNombuf(n - got); // q's poller (or the set-up thread before it starts)
        }
        long[] owned = rxOwned[q];
        for (int i = 0; i < got; i++) {
            int h = hs[i];
            fill.putAddr(i, pool.bufferOffset(h));
            owned[h >>> 6] |= 1L << h;
        }
        if (got > 0) {
            fill.submit(got);
        }
        return got;
    }

    @Override
    public int rxBurst(int queue, PacketBurst burst) {
        XskSocket s = socks[queue];
        XskRing rx = s.rx;
        int max = burst.maxBurst();
        int n = rx.available(max);
        if (n == 0 && busyPoll) {
            // SO_PREFER_BUSY_POLL: the device's NAPI runs here, in this thread, once per empty
            // poll (as DPDK's af_xdp busy_budget does), then the ring is looked at again
            s.kickRx();
            n = rx.available(max);
        }
        int k = n > 0 ? take(queue, rx, n, burst.handles) : 0;
        burst.size = k;
        if (fillBatch == 0) {
            refill(queue, max); // top the fill ring up on every poll
        } else {
            int deficit = fillDeficit[queue] + k;
            if (deficit >= fillBatch) {
                deficit -= refill(queue, Math.min(deficit, PacketBurst.MAX_BURST));
            }
            fillDeficit[queue] = deficit;
        }
        if (n == 0 && !busyPoll && s.fill.needsWakeup()) {
            s.kickRx();
        }
        return k;
    }

    /**
     * Takes the {@code n} descriptors waiting on {@code queue}'s rx ring into {@code handles};
     * returns how many were ours. Its own method so that the JIT profiles the per-packet loop only
     * over polls that found packets: inlined into a poll that is mostly empty (a port started
     * before its traffic), the per-packet calls look cold to C2 and stay out of line.
     */
    private int take(int queue, XskRing rx, int n, int[] handles) {
        int k = 0;
        long bytes = 0;
        long[] owned = rxOwned[queue];
        int headroom = pool.headroom();
        for (int i = 0; i < n; i++) {
            long d = rx.descOffset(i);
            long addr = rx.addrAtOffset(d);
            int len = rx.lenAt(d);
            long base = addr & XskSocket.UNALIGNED_ADDR_MASK;
            long data = base + (addr >>> XskSocket.UNALIGNED_OFFSET_SHIFT);
            int h = (int) divide(base, strideInverse);
            int off = (int) (data - h * stride);
            if (h < 0
                    || h >= capacity
                    || (owned[h >>> 6] & (1L << h)) == 0
                    || off < 0
                    || len < 0
                    || off + len > stride) {
                rxCounters[queue].addErrors(1); // not a buffer we gave the kernel: count, skip
                continue;
            }
            owned[h >>> 6] &= ~(1L << h);
            int delta = off - headroom;
            pool.setLength(h, delta + len);
            pool.adjust(h, delta);
            handles[k++] = h;
            bytes += len;
        }
        rx.release(n);
        rxCounters[queue].add(k, bytes);
        return k;
    }

    private void reap(int queue) {
        XskRing comp = socks[queue].comp;
        int n = comp.available(PacketBurst.MAX_BURST);
        if (n == 0) {
            return;
        }
        int[] hs = scratch[2 * queue + 1];
        long[] owned = txOwned[queue];
        int k = 0;
        for (int i = 0; i < n; i++) {
            long addr = comp.addrAt(i);
            long abs = (addr & XskSocket.UNALIGNED_ADDR_MASK) + (addr >>> XskSocket.UNALIGNED_OFFSET_SHIFT);
            int h = (int) (abs / stride);
            if (h >= 0 && h < capacity && (owned[h >>> 6] & (1L << h)) != 0) {
                owned[h >>> 6] &= ~(1L << h);
                hs[k++] = h;
            }
        }
        comp.release(n);
        pool.freeBulk(hs, 0, k);
    }

    @Override
    public int txBurst(int queue, PacketBurst burst, int n) {
        if (n <= 0) {
            return 0;
        }
        XskSocket s = socks[queue];
        reap(queue);
        XskRing tx = s.tx;
        int k = tx.free(n);
        long bytes = 0;
        long[] owned = txOwned[queue];
        int[] hs = burst.handles;
        for (int i = 0; i < k; i++) {
            int h = hs[i];
            int len = pool.length(h);
            tx.putDesc(i, pool.dataOffset(h), len);
            owned[h >>> 6] |= 1L << h;
            bytes += len;
        }
        if (k > 0) {
            tx.submit(k);
            txCounters[queue].add(k, bytes);
        }
        if (tx.needsWakeup()) {
            s.kickTx();
        }
        return k;
    }

    /**
     * The NAPI id the kernel marked on queue {@code q}'s socket (SO_INCOMING_NAPI_ID), 0 while
     * none: busy polling ({@code busy_budget=}) has nothing to run before it is set.
     */
    public synchronized int napiId(int q) {
        return closed ? 0 : socks[q].napiId();
    }

    /** True when the sockets prefer busy polling ({@code busy_budget=N} with N > 0). */
    public boolean busyPolling() {
        return busyPoll;
    }

    /** Queue {@code q}'s socket (tests). */
    XskSocket socket(int q) {
        return socks[q];
    }

    /** The interface queue behind port queue {@code q}. */
    public int interfaceQueue(int q) {
        return startQueue + q;
    }

    public String iface() {
        return iface;
    }

    /** True when the kernel bound queue {@code q} in zero-copy mode. */
    public boolean zeroCopy(int q) {
        return socks[q].zeroCopy();
    }

    /**
     * The kernel's counters of queue {@code q} (struct xdp_statistics): rx_dropped (no fill
     * buffer), rx_invalid_descs, tx_invalid_descs, rx_ring_full, rx_fill_ring_empty_descs,
     * tx_ring_empty_descs.
     */
    public synchronized long[] xdpStatistics(int q) {
        return closed ? new long[6] : socks[q].statistics();
    }

    /** The prefilter redirecting into this port's sockets (its rules and counters). */
    public Prefilter prefilter() {
        return prefilter;
    }

    /** The kernel's rx_dropped + rx_ring_full of every socket. */
    @Override
    protected synchronized long missedElsewhere() {
        long missed = 0;
        if (!closed) {
            for (XskSocket s : socks) {
                long[] st = s.statistics();
                missed += st[0] + st[3];
            }
        }
        return missed;
    }

    @Override
    public LinkStatus link() {
        return KernelInterface.link(iface);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (int q = 0; q < socks.length; q++) {
            if (prefilter != null) {
                try {
                    prefilter.unbindQueue(startQueue + q);
                } catch (RuntimeException e) {
                    // the program may be gone already; closing the socket drops the entry anyway
                }
            }
        }
        for (XskSocket s : socks) {
            s.close();
        }
        // the sockets are gone: every buffer still marked was in a kernel ring
        for (int q = 0; q < socks.length; q++) {
            returnMarked(rxOwned[q]);
            returnMarked(txOwned[q]);
        }
        try {
            onClose.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing " + name() + ": " + e.getMessage(), e);
        }
    }

    private void returnMarked(long[] bits) {
        for (int w = 0; w < bits.length; w++) {
            long v = bits[w];
            while (v != 0) {
                int b = Long.numberOfTrailingZeros(v);
                v &= v - 1;
                pool.free((w << 6) + b);
            }
            bits[w] = 0;
        }
    }

    @Override
    public String toString() {
        return name() + " (" + iface + " queues " + startQueue + ".." + (startQueue + socks.length - 1) + ")";
    }
}
