package dev.panda.pmd.vfio;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.AbstractPort;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.QueueCounters;
import dev.panda.pmd.virtio.ring.DriverQueue;
import dev.panda.pmd.virtio.ring.RingErrors;
import dev.panda.pmd.virtio.ring.VirtioNetHeader;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * {@code net_virtio_pci}'s data path: one queue pair of a virtio-net device, receiveq 0 and
 * transmitq 1 (virtio 1.2 §5.1.2), polled from the caller's thread. The device reaches the pool
 * at {@code poolIova + offset} (its DMA mapping) and works on the pool buffers themselves: the
 * 12-byte header (§5.1.6, VIRTIO_F_VERSION_1) sits in each buffer's headroom, in front of the
 * frame; a buffer without 12 bytes of headroom goes out as a two-descriptor chain with a shared
 * zero header at {@code headerIova}.
 *
 * <p>Everything device-specific (VFIO, registers, DMA) is behind {@link Device}; this class is
 * the same code whether the rings are read by a device behind an IOMMU or, in the benchmark, by
 * a software device in ordinary memory. No allocation per packet; one poller per direction.
 */
public final class VirtioPciPort extends AbstractPort {

    /** What the port needs from the device besides its rings. */
    public interface Device {
        /** Rings the notify register of queue {@code q} (its index, §4.1.5.2). */
        void kick(int q);

        /** Link state from the device configuration (§5.1.4), read from any thread. */
        LinkStatus link();

        /** Waits up to {@code timeoutMillis} for an rx interrupt; false if there is no interrupt mode. */
        boolean awaitRxInterrupt(long timeoutMillis);

        /** Stops the device: after this it touches no ring and no buffer (reset, §4.1.4.3.2). */
        void stop();

        /** Releases what set-up took (DMA mappings, BARs, fds), after every buffer is back. */
        void release();
    }

    private static final System.Logger LOG = System.getLogger(VirtioPciPort.class.getName());
    private static final int HDR = (int) VirtioNetHeader.BYTES;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final VarHandle BUSY = MethodHandles.arrayElementVarHandle(int[].class);
    private static final long QUIESCE_NANOS = 2_000_000_000L;
    static final int RXQ = 0;
    static final int TXQ = 1;

    private final PacketPool pool;
    private final MemorySegment mem;
    private final long poolIova;
    private final int portId;
    private final int rxLead;
    private final int rxLen;
    private final DriverQueue rxq;
    private final DriverQueue txq;
    private final Device device;
    private final byte[] held;
    private final int[] rxLens = new int[PacketBurst.MAX_BURST];
    private final int[] refill;
    private final int[] txDone;
    private final int[] txLens;
    private final long[] chainAddrs;
    private final int[] chainLens = {HDR, 0};
    private final long[] errorsSeen = new long[2];
    private final QueueCounters rx0 = rxCounters[0];
    private final QueueCounters tx0 = txCounters[0];
    private final int[] busy = new int[32];
    private volatile boolean closed;

    /**
     * @param rxq        receiveq 0 and {@code txq} transmitq 1, already known to the device
     * @param poolIova   where the device sees the pool's first byte
     * @param headerIova 12 zero bytes the device can read (the shared tx header)
     */
    public VirtioPciPort(
            String name,
            String driverName,
            PacketPool pool,
            int portId,
            long mac,
            DriverQueue rxq,
            DriverQueue txq,
            long poolIova,
            long headerIova,
            Device device) {
        super(name, driverName, 1, 1, mac);
        this.pool = pool;
        this.mem = pool.segment();
        this.poolIova = poolIova;
        this.portId = portId;
        this.rxq = rxq;
        this.txq = txq;
        this.device = device;
        this.rxLead = pool.headroom() >= HDR ? HDR : 0;
        this.rxLen = rxLead + pool.dataRoom();
        this.held = new byte[pool.capacity()];
        this.refill = new int[rxq.size()];
        this.txDone = new int[txq.size()];
        this.txLens = new int[txq.size()];
        this.chainAddrs = new long[] {headerIova, 0};
        // panda polls: no used buffer notifications (§2.7.7, advisory) until awaitRx asks for one
        rxq.disableInterrupts();
        txq.disableInterrupts();
        refill();
    }

    /** Dekker with close(): store busy, load closed; close() stores closed, loads busy. */
    private boolean enter(int slot) {
        BUSY.setVolatile(busy, slot * 16, 1);
        if (closed) {
            BUSY.setVolatile(busy, slot * 16, 0);
            return false;
        }
        return true;
    }

    private void exit(int slot) {
        BUSY.setVolatile(busy, slot * 16, 0);
    }

    @Override
    public int rxBurst(int queue, PacketBurst burst) {
        checkQueue(queue);
        if (!enter(0)) {
            burst.size = 0;
            return 0;
        }
        try {
            int n = receive(burst);
            burst.size = n;
            return n;
        } finally {
            exit(0);
        }
    }

    private static void checkQueue(int queue) {
        if (queue != 0) {
            throw new IndexOutOfBoundsException("net_virtio_pci has one queue pair; queue " + queue);
        }
    }

    private int receive(PacketBurst burst) {
        int[] h = burst.handles;
        int got = rxq.harvest(h, rxLens, burst.maxBurst());
        int n = 0;
        long bytes = 0;
        int bad = 0;
        for (int i = 0; i < got; i++) {
            int b = h[i];
            held[b] = 0;
            int frame = rxLens[i] - HDR; // harvest never lets a length pass the buffer
            if (frame <= 0) {
                bad++;
                pool.free(b);
                continue;
            }
            if (rxLead == 0) {
                pool.setLength(b, rxLens[i]);
                pool.adjust(b, HDR);
            } else {
                pool.setLength(b, frame);
            }
            pool.setPort(b, portId);
            h[n++] = b;
            bytes += frame;
        }
        if (n > 0) {
            rx0.add(n, bytes);
        }
        if (bad > 0) {
            rx0.addErrors(bad);
        }
        if (rxq.freeDescriptors() >= Math.min(32, rxq.size() / 2) || rxq.inFlight() == 0) {
            refill();
        }
        countRingErrors(rxq, 0, rx0);
        return n;
    }

    /** Posts fresh pool buffers as device-writable descriptors until the ring is full (§5.1.6.3). */
    private void refill() {
        int want = rxq.freeDescriptors();
        if (want == 0) {
            return;
        }
        int got = pool.allocBulk(refill, 0, want);
        if (got < want) {
            rx0.addNombuf(want - got);
        }
        for (int i = 0; i < got; i++) {
            int b = refill[i];
            rxq.addIn(poolIova + pool.dataOffset(b) - rxLead, rxLen, b);
            held[b] = 1;
        }
        if (got > 0 && rxq.publish()) {
            device.kick(RXQ);
        }
    }

    @Override
    public int txBurst(int queue, PacketBurst burst, int n) {
        checkQueue(queue);
        if (n <= 0 || !enter(1)) {
            return 0;
        }
        try {
            return transmit(burst, n);
        } finally {
            exit(1);
        }
    }

    private int transmit(PacketBurst burst, int n) {
        reclaim();
        int[] h = burst.handles;
        long bytes = 0;
        int k = 0;
        while (k < n) {
            int b = h[k];
            int len = pool.length(b);
            long off = pool.dataOffset(b);
            boolean ok;
            if (off - pool.bufferOffset(b) >= HDR) {
                // §5.1.6.2: flags 0, gso_type NONE, num_buffers 0 (ignored on tx)
                mem.set(LONG, off - HDR, 0L);
                mem.set(INT, off - 4, 0);
                ok = txq.addOut(poolIova + off - HDR, HDR + len, b);
            } else {
                chainAddrs[1] = poolIova + off;
                chainLens[1] = len;
                ok = txq.add(chainAddrs, chainLens, 2, 0, b);
            }
            if (!ok) {
                break; // ring full: the rest stays with the caller
            }
            held[b] = 1;
            bytes += len;
            k++;
        }
        if (k > 0) {
            tx0.add(k, bytes);
            if (txq.publish()) {
                device.kick(TXQ);
            }
        }
        countRingErrors(txq, 1, tx0);
        return k;
    }

    /** Returns the transmitted buffers the device is done with to the pool. */
    private void reclaim() {
        if (txq.inFlight() == 0) {
            return;
        }
        int got = txq.harvest(txDone, txLens, txDone.length);
        for (int i = 0; i < got; i++) {
            held[txDone[i]] = 0;
        }
        pool.freeBulk(txDone, 0, got);
    }

    private void countRingErrors(DriverQueue q, int slot, QueueCounters counters) {
        RingErrors e = q.errors();
        long seen = e.severe(); // one read per burst; every driver-side kind is severe
        if (seen != errorsSeen[slot]) {
            counters.addErrors(seen - errorsSeen[slot]);
            errorsSeen[slot] = seen;
        }
    }

    /**
     * Interrupt mode: asks for a used buffer notification on the receive queue (§2.7.7) and waits
     * up to {@code timeoutMillis} for its MSI-X eventfd. Returns true when frames are (or may
     * be) waiting; then poll with {@link #rxBurst}. Call from the rx poller only.
     */
    public boolean awaitRx(long timeoutMillis) {
        if (rxq.enableInterrupts()) {
            rxq.disableInterrupts();
            return true; // frames arrived meanwhile (§2.7.14: re-check after enabling)
        }
        boolean woke = device.awaitRxInterrupt(timeoutMillis);
        rxq.disableInterrupts();
        return woke || rxq.pendingUsed() != 0;
    }

    @Override
    public LinkStatus link() {
        return closed ? LinkStatus.DOWN : device.link();
    }

    /** Buffers the device holds now (posted for rx or queued for tx). */
    public int buffersHeld() {
        return rxq.inFlight() + txq.inFlight();
    }

    /**
     * Waits for running bursts, stops the device (after which it touches no buffer), returns every
     * buffer it held to the pool and releases the device.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        VarHandle.fullFence();
        long deadline = System.nanoTime() + QUIESCE_NANOS;
        for (int slot = 0; slot < 2; slot++) {
            while ((int) BUSY.getVolatile(busy, slot * 16) != 0) {
                if (System.nanoTime() > deadline) {
                    LOG.log(
                            System.Logger.Level.ERROR,
                            "{0}: {1} still in a burst after 2 s; closing anyway",
                            name(),
                            slot == 0 ? "rx" : "tx");
                    break;
                }
                Thread.onSpinWait();
            }
        }
        try {
            device.stop();
        } finally {
            for (int b = 0; b < held.length; b++) {
                if (held[b] != 0) {
                    held[b] = 0;
                    pool.free(b);
                }
            }
            device.release();
        }
    }

    @Override
    public String toString() {
        return name() + "[1 queue pair of " + rxq.size() + (closed ? ", closed]" : "]");
    }
}
