package dev.panda.pmd.virtio.vhost;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.AbstractPort;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.QueueCounters;
import dev.panda.dataplane.stats.Counter;
import dev.panda.pmd.virtio.ring.Chain;
import dev.panda.pmd.virtio.ring.DeviceQueue;
import dev.panda.pmd.virtio.ring.PackedDeviceQueue;
import dev.panda.pmd.virtio.ring.VirtioNetHeader;
import java.lang.foreign.MemorySegment;

/**
 * The poller half of panda as a virtio-net device, shared by {@code net_vhost} (vhost-user,
 * {@link VhostPort}) and {@code net_vduse} (VDUSE on the kernel's vDPA bus). Queue pair q is
 * vrings 2q (the driver's receive queue: panda transmits there) and 2q + 1 (the driver's transmit
 * queue: panda receives from it), virtio 1.2 §5.1.2. The vrings come and go with the driver, as the
 * back-end's control thread publishes and takes them back through {@link VringSlot}s; a burst on a
 * vring that is not running moves nothing.
 *
 * <p>Packets are copied between guest buffers and pool buffers (the guest's memory is not the
 * pool's), behind the 12-byte VIRTIO_F_VERSION_1 header (§5.1.6): one chain per packet, or with
 * VIRTIO_NET_F_MRG_RXBUF as many receive buffers as a packet needs ({@link GuestRxWriter}, picked
 * when the vring starts). Nothing here allocates per packet.
 */
public abstract class VirtioDevicePort extends AbstractPort {

    /** What the poller needs of the control side. */
    public interface Backend {
        /** The driver's memory faulted under a poller (SIGBUS as InternalError): reset the device. */
        void fault(InternalError e);

        /** A driver is there and at least one vring runs (the link is up). */
        boolean ready();

        /** Stops the control side and releases everything. */
        void close();
    }

    private static final long HDR = VirtioNetHeader.BYTES;

    private final PacketPool pool;
    private final int portId;
    private final int queues;
    /** Vring i's hand-over point, 2 per queue pair; the back-end publishes into them. */
    protected final VringSlot[] slots;
    /**
     * Guest memory faults met by each poller (device errors): slot 2q + 1 for rx queue q, 2q for
     * tx queue q (the vring numbering), since rx and tx of one queue may be polled by two lcores.
     */
    private final Counter[] faults;
    /** Per queue, poller only: buffers a receive burst holds, packets a transmit burst took (for a fault). */
    private final int[] rxAllocated;

    private final int[] txTaken;
    private Backend backend;
    private volatile boolean closed;

    /** A port with {@code queues} pairs of empty slots; the subclass then {@link #attach}es its back-end. */
    protected VirtioDevicePort(String name, String driver, PacketPool pool, int portId, int queues, long mac) {
        super(name, driver, queues, queues, mac);
        this.pool = pool;
        this.portId = portId;
        this.queues = queues;
        this.slots = new VringSlot[2 * queues];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new VringSlot();
        }
        this.faults = new Counter[2 * queues];
        for (int i = 0; i < faults.length; i++) {
            faults[i] = new Counter();
        }
        this.rxAllocated = new int[queues];
        this.txTaken = new int[queues];
    }

    /** Sets the control side (once, from the subclass's constructor, before any burst). */
    protected final void attach(Backend b) {
        this.backend = b;
    }

    @Override
    public int rxBurst(int queue, PacketBurst burst) {
        VringSlot slot = slots[2 * queue + 1];
        VringSlot.Live live = slot.enter();
        int n = 0;
        try {
            if (live != null) {
                // one test per burst: the split and packed loops each keep their own call sites
                n = live.packed == null ? receive(queue, live, burst) : receivePacked(queue, live, burst);
            }
        } catch (InternalError e) {
            // the guest's memory faulted (see fault): what this burst allocated goes back
            int got = rxAllocated[queue];
            if (got > 0) {
                pool.freeBulk(burst.handles, 0, got);
            }
            n = 0;
            fault(2 * queue + 1, rxCounters[queue], e);
        } finally {
            rxAllocated[queue] = 0;
            slot.exit();
        }
        burst.size = n;
        return n;
    }

    /** Guest TX vring → pool buffers: skip the header, copy the frame, return the chain (len 0). */
    private int receive(int queue, VringSlot.Live live, PacketBurst burst) {
        int want = Math.min(burst.maxBurst(), live.queue.available());
        if (want > 0) {
            return receiveChains(queue, live, burst.handles, want);
        }
        finish(live, rxCounters[queue]);
        return 0;
    }

    /**
     * {@link #receive}'s per-packet loop, for a poll that found {@code want > 0} chains. Its own
     * method so that the JIT profiles it only over polls that moved packets: inlined into a
     * poll that is mostly empty (an idle port, a vSwitch started before its traffic), the
     * per-packet calls look cold to C2 and stay out of line for good.
     */
    private int receiveChains(int queue, VringSlot.Live live, int[] h, int want) {
        DeviceQueue q = live.queue;
        int got = pool.allocBulk(h, 0, want);
        rxAllocated[queue] = got;
        if (got < want) {
            // the chains stay in the ring for a later burst: nothing is lost, as rx_nombuf says
            rxCounters[queue].addNombuf(want - got);
        }
        Chain c = live.chain;
        MemorySegment mem = pool.segment();
        long room = pool.maxPacketLength();
        RxCopies copies = live.copies;
        long bytes = 0;
        int bad = 0;
        int n = 0;
        int batched = 0;
        // Two passes, as the transmit's writer does (GuestRxWriter.writeBatched): every chain is
        // walked and returned first, then the frames are copied in one tight loop, so the loads
        // from lines the driver's CPU wrote last follow each other and their misses overlap. The
        // used entries are published only after the copies (finish), so the driver cannot reuse a
        // buffer before its frame is copied.
        while (n < got && q.pop(c)) {
            long frame = c.readableBytes() - HDR;
            if (frame <= 0 || frame > room) {
                bad++; // no frame behind the header, or larger than a buffer: dropped, counted
            } else {
                batched = copies.take(c, batched, mem, pool.received(h[n], (int) frame, portId), frame);
                bytes += frame;
                n++;
            }
            q.pushUsed(c.head(), 0); // §2.7.8: nothing written into a device-readable chain
        }
        copies.copy(c, batched, mem);
        finish(live, rxCounters[queue]);
        rxAllocated[queue] = 0; // from here the buffers are the caller's or freed
        if (n < got) {
            pool.freeBulk(h, n, got - n);
        }
        if (n > 0) {
            rxCounters[queue].add(n, bytes);
        }
        if (bad > 0) {
            rxCounters[queue].addErrors(bad);
        }
        return n;
    }

    /** {@link #receive} on a packed ring (VIRTIO_F_RING_PACKED). */
    private int receivePacked(int queue, VringSlot.Live live, PacketBurst burst) {
        int want = live.packed.available(burst.maxBurst());
        if (want > 0) {
            return receivePackedChains(queue, live, burst.handles, want);
        }
        finishPacked(live, rxCounters[queue]);
        return 0;
    }

    /** {@link #receiveChains} on a packed ring: its own method for the same reason. */
    private int receivePackedChains(int queue, VringSlot.Live live, int[] h, int want) {
        PackedDeviceQueue q = live.packed;
        int got = pool.allocBulk(h, 0, want);
        rxAllocated[queue] = got;
        if (got < want) {
            rxCounters[queue].addNombuf(want - got);
        }
        Chain c = live.chain;
        MemorySegment mem = pool.segment();
        long room = pool.maxPacketLength();
        RxCopies copies = live.copies;
        long bytes = 0;
        int bad = 0;
        int n = 0;
        int batched = 0;
        // Walks first, copies after, as receiveChains: the used descriptors wait in the queue's
        // shadow until finishPacked writes them, after the copies, so the driver cannot reuse a
        // buffer before its frame is copied.
        while (n < got && q.pop(c)) {
            long frame = c.readableBytes() - HDR;
            if (frame <= 0 || frame > room) {
                bad++;
            } else {
                batched = copies.take(c, batched, mem, pool.received(h[n], (int) frame, portId), frame);
                bytes += frame;
                n++;
            }
            q.pushUsed(c, 0); // §2.8.6: nothing written into a device-readable chain
        }
        copies.copy(c, batched, mem);
        finishPacked(live, rxCounters[queue]);
        rxAllocated[queue] = 0;
        if (n < got) {
            pool.freeBulk(h, n, got - n);
        }
        if (n > 0) {
            rxCounters[queue].add(n, bytes);
        }
        if (bad > 0) {
            rxCounters[queue].addErrors(bad);
        }
        return n;
    }

    @Override
    public int txBurst(int queue, PacketBurst burst, int n) {
        if (n <= 0) {
            return 0;
        }
        VringSlot slot = slots[2 * queue];
        VringSlot.Live live = slot.enter();
        try {
            if (live == null) {
                return 0;
            }
            return live.packed == null ? transmit(queue, live, burst, n) : transmitPacked(queue, live, burst, n);
        } catch (InternalError e) {
            fault(2 * queue, txCounters[queue], e);
            return txTaken[queue]; // freed already, or never freed and so lost, never freed twice
        } finally {
            txTaken[queue] = 0;
            slot.exit();
        }
    }

    /**
     * Pool buffers → guest RX vring through the writer chosen at set-up (one chain per packet, or
     * mergeable buffers); the packets it took are freed here, the rest stay with the caller.
     */
    private int transmit(int queue, VringSlot.Live live, PacketBurst burst, int n) {
        GuestRxWriter w = live.writer;
        int k = w.write(pool, burst.handles, n);
        finish(live, txCounters[queue]);
        txTaken[queue] = k;
        if (k > 0) {
            pool.freeBulk(burst.handles, 0, k);
            txCounters[queue].add(w.sent, w.bytes);
        }
        if (w.errors > 0) {
            txCounters[queue].addErrors(w.errors);
        }
        return k;
    }

    /** {@link #transmit} on a packed ring. */
    private int transmitPacked(int queue, VringSlot.Live live, PacketBurst burst, int n) {
        PackedRxWriter w = live.packedWriter;
        int k = w.write(pool, burst.handles, n);
        finishPacked(live, txCounters[queue]);
        txTaken[queue] = k;
        if (k > 0) {
            pool.freeBulk(burst.handles, 0, k);
            txCounters[queue].add(w.sent, w.bytes);
        }
        if (w.errors > 0) {
            txCounters[queue].addErrors(w.errors);
        }
        return k;
    }

    /** {@link #finish} on a packed ring. */
    private static void finishPacked(VringSlot.Live live, QueueCounters counters) {
        PackedDeviceQueue q = live.packed;
        if (q.publishUsed() && live.call != null) {
            live.call.raise();
        }
        live.log.usedRing();
        long seen = q.errors().severe();
        if (seen != live.errorsSeen) {
            counters.addErrors(seen - live.errorsSeen);
            live.errorsSeen = seen;
        }
    }

    /**
     * Publishes used entries, logs the used ring when migrating, interrupts the driver if it wants
     * it, counts what the ring refused.
     */
    private static void finish(VringSlot.Live live, QueueCounters counters) {
        DeviceQueue q = live.queue;
        if (q.publishUsed() && live.call != null) {
            // a call fd the front-end broke only costs it the interrupt; the ring still works
            live.call.raise();
        }
        live.log.usedRing();
        long seen = q.errors().severe();
        if (seen != live.errorsSeen) {
            counters.addErrors(seen - live.errorsSeen);
            live.errorsSeen = seen;
        }
    }

    /**
     * The guest's memory faulted under the poller (SIGBUS, which FFM turns into InternalError: the
     * front-end shrank a file it shared). A device error: counted, logged once per connection, and
     * the connection is ended, which takes every vring back and unmaps its memory; the process and
     * the other ports go on.
     */
    private void fault(int vring, QueueCounters counters, InternalError e) {
        counters.addErrors(1);
        faults[vring].add(1);
        backend.fault(e);
    }

    /** Guest memory faults the pollers met (each also counted as an rx or tx error). */
    public long deviceFaults() {
        long n = 0;
        for (Counter c : faults) {
            n += c.get();
        }
        return n;
    }

    @Override
    public LinkStatus link() {
        return !closed && backend.ready() ? LinkStatus.VIRTUAL_UP : LinkStatus.DOWN;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        backend.close();
    }

    /** Queue pairs. */
    public int queuePairs() {
        return queues;
    }

    @Override
    public String toString() {
        return name() + "[" + queues + " queue pair(s)" + (backend.ready() ? ", running]" : "]");
    }
}
