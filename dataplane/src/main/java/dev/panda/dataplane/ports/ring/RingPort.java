package dev.panda.dataplane.ports.ring;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.AbstractPort;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;

/**
 * An in-process port backed by rings, like DPDK's net_ring.
 *
 * <p>Alone, a ring port loops back: what is sent on queue q is received on queue q. Connected to
 * a peer ({@code peer=net_ringN}), the two form a wire: what one sends, the other receives.
 * Each queue's ring is single-producer single-consumer, so one thread transmits and one thread
 * receives on a given queue, as testpmd's stream layout guarantees. Byte counters cost a metadata
 * read per packet, which io forwarding otherwise never makes; {@code count_bytes=0} skips them, as
 * DPDK's ring PMD always does.
 */
final class RingPort extends AbstractPort {

    private final PacketPool pool;
    private final SpscIntRing[] rxRings;
    private volatile SpscIntRing[] txRings;
    private volatile boolean closed;
    private final Runnable onClose;
    private final boolean countBytes;

    RingPort(String name, PacketPool pool, int portId, int queues, int size, boolean countBytes, Runnable onClose) {
        super(name, RingPortDriver.NAME, queues, queues, 0x02_70_6e_00_00_00L | (portId & 0xffff));
        this.countBytes = countBytes;
        this.pool = pool;
        this.rxRings = new SpscIntRing[queues];
        for (int q = 0; q < queues; q++) {
            rxRings[q] = new SpscIntRing(name + ":q" + q, size);
        }
        this.txRings = rxRings;
        this.onClose = onClose;
    }

    /** Cross-connects two ports: each one's tx feeds the other's rx. Set-up time only. */
    static void connect(RingPort a, RingPort b) {
        if (a.rxRings.length != b.rxRings.length) {
            throw new IllegalArgumentException("ring peers need the same queue count: " + a.name() + " has "
                    + a.rxRings.length + ", " + b.name() + " has " + b.rxRings.length);
        }
        a.txRings = b.rxRings;
        b.txRings = a.rxRings;
    }

    @Override
    public int rxBurst(int queue, PacketBurst burst) {
        int n = rxRings[queue].poll(burst.handles, 0, burst.maxBurst());
        burst.size = n;
        if (n > 0) {
            rxCounters[queue].add(n, countBytes ? bytes(burst.handles, n) : 0);
        }
        return n;
    }

    @Override
    public int txBurst(int queue, PacketBurst burst, int n) {
        if (closed) {
            txCounters[queue].addErrors(n);
            return 0;
        }
        int k = txRings[queue].offer(burst.handles, 0, n);
        if (k > 0) {
            txCounters[queue].add(k, countBytes ? bytes(burst.handles, k) : 0);
        }
        if (k < n) {
            txCounters[queue].addErrors(n - k);
        }
        return k;
    }

    private long bytes(int[] handles, int n) {
        long b = 0;
        for (int i = 0; i < n; i++) {
            b += pool.length(handles[i]);
        }
        return b;
    }

    @Override
    public LinkStatus link() {
        return closed ? LinkStatus.DOWN : LinkStatus.VIRTUAL_UP;
    }

    /** Packets waiting in this port's receive rings. */
    int queued() {
        int n = 0;
        for (SpscIntRing r : rxRings) {
            n += r.size();
        }
        return n;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (SpscIntRing r : rxRings) {
            r.drain(pool::free);
        }
        onClose.run();
    }

    @Override
    public String toString() {
        return name() + "[" + rxRings.length + " queue(s), " + queued() + " queued]";
    }
}
