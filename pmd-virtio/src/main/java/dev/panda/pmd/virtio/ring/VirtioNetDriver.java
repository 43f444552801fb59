package dev.panda.pmd.virtio.ring;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.QueueCounters;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The driver side of a virtio-net device's queue pairs, one copy for every port that drives one:
 * {@code net_virtio_user} (vhost-user, vhost-net, vhost-vdpa) and {@code net_virtio_pci} (VFIO).
 * Queue pair q is vrings 2q (receiveq: empty pool buffers posted for the device to fill) and 2q +
 * 1 (transmitq: packets posted for the device to send), virtio 1.2 §5.1.2. What differs between
 * the ports is given at set-up: the {@link Doorbell} per driver (an eventfd write, a PCI notify
 * register write), and per queue pair as {@link #install}ed the address the device knows the pool
 * by (its first byte: panda's virtual address, a vhost-vdpa IOVA, a VFIO IOVA) and the features,
 * which pick the receive path (VIRTIO_NET_F_MRG_RXBUF) and how a headerless packet goes out
 * (VIRTIO_RING_F_INDIRECT_DESC). Every field a burst reads is final in its queue pair.
 *
 * <p>Zero copy: the device reads and writes the pool buffers themselves. The 12-byte header
 * (§5.1.6, VIRTIO_F_VERSION_1) sits in each buffer's headroom, just in front of the frame; a
 * buffer without 12 bytes of headroom goes out as a two-part chain (or a two-entry indirect table)
 * with a shared zero header. A buffer handed to the device belongs to the driver until it comes
 * back in the used ring; {@link #releaseBuffers()} frees what the device still holds once it is
 * stopped. The device is not trusted: what the queues refuse ({@link DriverQueue#errors()}) is
 * added to the port's error counters once per burst.
 *
 * <p>Pollers and the control thread meet at a gate: a burst runs only while the gate is
 * {@link #open()}; {@link #close()} shuts it and waits for the bursts inside to leave, after
 * which the control thread may stop the device, take the buffers back and install new queues.
 * One poller per queue and direction; nothing allocates per packet.
 *
 * <p>The queues are split ({@link DriverQueue}, {@link #install}) or, when VIRTIO_F_RING_PACKED
 * was negotiated, packed ({@link PackedDriverQueue}, {@link #installPacked}). Each format has its
 * own queue pair class over its own final queue class, so the queue calls inside a burst are
 * monomorphic whichever formats other ports in the JVM use; a burst picks the pair by one field
 * the control thread writes while the gate is closed (one well-predicted branch per burst).
 */
public final class VirtioNetDriver {

    /**
     * How the device learns of new buffers on a vring (2q receiveq, 2q + 1 transmitq): an
     * available buffer notification (§2.7.13.4). One implementation per port.
     */
    public interface Doorbell {
        void kick(int vring);
    }

    /** Entries of the indirect table a headerless packet takes (header, frame). */
    public static final int INDIRECT_MAX = 2;

    private static final System.Logger LOG = System.getLogger(VirtioNetDriver.class.getName());
    private static final int HDR = (int) VirtioNetHeader.BYTES;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final VarHandle BUSY = MethodHandles.arrayElementVarHandle(int[].class);
    private static final long QUIESCE_NANOS = 2_000_000_000L;

    private final String name;
    private final PacketPool pool;
    private final int portId;
    private final Doorbell doorbell;
    private final QueueCounters[] rx;
    private final QueueCounters[] tx;
    /** Per buffer: 1 while the device holds it (each entry written only by the poller that posted it). */
    private final byte[] held;
    /** Per queue and direction (slot 2q rx, 2q + 1 tx, a cache line apart): 1 while a burst runs. */
    private final int[] busy;

    private final QueuePair[] pairs;
    private final PackedPair[] packedPairs;
    /**
     * Whether the installed queues are packed: written by the control thread with the gate closed
     * (published by the volatile {@link #running}), read once per burst. Each burst then calls a
     * {@link QueuePair} or a {@link PackedPair}, each on its own final queue class, so neither
     * format's calls see the other's queue type (they stay monomorphic).
     */
    private boolean packed;
    /** Set by the control thread once the queues run; the pollers touch nothing without it. */
    private volatile boolean running;

    private volatile long reclaimed;

    /**
     * A driver for as many queue pairs as {@code rx} counters (the port's, per queue), stamping
     * {@code portId} on received buffers; the gate starts closed.
     */
    public VirtioNetDriver(
            String name, PacketPool pool, int portId, Doorbell doorbell, QueueCounters[] rx, QueueCounters[] tx) {
        this.name = name;
        this.pool = pool;
        this.portId = portId;
        this.doorbell = doorbell;
        this.rx = rx;
        this.tx = tx;
        this.held = new byte[pool.capacity()];
        this.busy = new int[2 * rx.length * 16];
        this.pairs = new QueuePair[rx.length];
        this.packedPairs = new PackedPair[rx.length];
    }

    /** Bytes a queue of {@code size} needs for {@code features} (room for indirect tables with INDIRECT_DESC). */
    public static long queueBytes(int size, long features) {
        return DriverQueue.bytes(size, indirectMax(features));
    }

    /** Bytes a packed queue of {@code size} needs for {@code features} (as {@link #queueBytes}). */
    public static long packedQueueBytes(int size, long features) {
        return PackedDriverQueue.bytes(size, indirectMax(features));
    }

    /** The {@code indirectMax} a transmit queue is created with for {@code features}. */
    public static int indirectMax(long features) {
        return VirtioFeatures.has(features, VirtioFeatures.F_INDIRECT_DESC) ? INDIRECT_MAX : 0;
    }

    /**
     * Control thread, gate closed: queue pair {@code q} from now on runs on {@code rxq} and
     * {@code txq} (fresh, known to the device or about to be), with used buffer notifications
     * off (panda polls, §2.7.7). Its receive ring is not filled yet: {@link #fill}.
     *
     * @param poolAddr   where the device sees the pool's first byte
     * @param headerAddr where it sees 12 zero bytes (the shared transmit header)
     */
    public void install(int q, DriverQueue rxq, DriverQueue txq, long features, long poolAddr, long headerAddr) {
        rxq.disableInterrupts();
        txq.disableInterrupts();
        pairs[q] = new QueuePair(this, q, rxq, txq, features, poolAddr, headerAddr);
        packedPairs[q] = null;
        packed = false;
    }

    /**
     * As {@link #install} for packed rings (VIRTIO_F_RING_PACKED negotiated): every queue pair of
     * the driver must be installed the same way before the gate opens.
     */
    public void installPacked(
            int q, PackedDriverQueue rxq, PackedDriverQueue txq, long features, long poolAddr, long headerAddr) {
        rxq.disableInterrupts();
        txq.disableInterrupts();
        packedPairs[q] = new PackedPair(this, q, rxq, txq, features, poolAddr, headerAddr);
        pairs[q] = null;
        packed = true;
    }

    /** Whether the queues installed last are packed. */
    public boolean packed() {
        return packed;
    }

    /** Control thread, gate closed: posts pool buffers on receiveq {@code q} until it is full (§5.1.6.3). */
    public void fill(int q) {
        if (packed) {
            packedPairs[q].refill();
        } else {
            pairs[q].refill();
        }
    }

    /** Control thread: the pollers may run the installed queues. */
    public void open() {
        running = true;
    }

    /** Whether the gate is open (the queues run). */
    public boolean running() {
        return running;
    }

    /** Control thread: shuts the gate and waits until no poller is inside a burst. */
    public void close() {
        running = false;
        VarHandle.fullFence();
        long deadline = System.nanoTime() + QUIESCE_NANOS;
        for (int slot = 0; slot < busy.length / 16; slot++) {
            while ((int) BUSY.getVolatile(busy, slot * 16) != 0) {
                if (System.nanoTime() > deadline) {
                    LOG.log(
                            System.Logger.Level.ERROR,
                            "{0}: {1} queue {2} still in a burst after 2 s; going on anyway",
                            name,
                            slot % 2 == 0 ? "rx" : "tx",
                            slot / 2);
                    break;
                }
                Thread.onSpinWait();
                Thread.yield();
            }
        }
    }

    /** Receiveq {@code q} as last installed (split). */
    public DriverQueue rxq(int q) {
        return pairs[q].rxq;
    }

    /** Transmitq {@code q} as last installed (split). */
    public DriverQueue txq(int q) {
        return pairs[q].txq;
    }

    /** Receiveq {@code q} as last installed (packed). */
    public PackedDriverQueue packedRxq(int q) {
        return packedPairs[q].rxq;
    }

    /** Transmitq {@code q} as last installed (packed). */
    public PackedDriverQueue packedTxq(int q) {
        return packedPairs[q].txq;
    }

    /**
     * Control thread, gate closed and device stopped: frees every buffer the device still holds
     * and counts them in {@link #buffersReclaimed()}; returns how many. The count is published
     * before the first buffer goes back, so whoever sees the pool whole again also sees them counted.
     */
    public int releaseBuffers() {
        int n = 0;
        for (byte h : held) {
            n += h != 0 ? 1 : 0;
        }
        if (n == 0) {
            return 0;
        }
        reclaimed += n;
        for (int b = 0; b < held.length; b++) {
            if (held[b] != 0) {
                held[b] = 0;
                pool.free(b);
            }
        }
        return n;
    }

    /** Buffers returned to the pool because the device stopped while holding them. */
    public long buffersReclaimed() {
        return reclaimed;
    }

    /**
     * Marks a burst on {@code slot} as running, unless the queues are not. Dekker with
     * {@link #close()}: a volatile store of busy, then a load of running; the control thread
     * stores running, then loads busy. Each slot has one writer, its poller.
     */
    private boolean enter(int slot) {
        BUSY.setVolatile(busy, slot * 16, 1);
        if (!running) {
            BUSY.setVolatile(busy, slot * 16, 0);
            return false;
        }
        return true;
    }

    private void exit(int slot) {
        BUSY.setVolatile(busy, slot * 16, 0);
    }

    /** Used receive buffers of queue pair {@code q} → {@code burst} (header stripped); the ring is topped up. */
    public int rxBurst(int q, PacketBurst burst) {
        if (!enter(2 * q)) {
            burst.size = 0;
            return 0;
        }
        try {
            int n = packed ? packedPairs[q].receive(burst) : pairs[q].receive(burst);
            burst.size = n;
            return n;
        } finally {
            exit(2 * q);
        }
    }

    /** Frees what the device has sent on queue pair {@code q}, then posts up to {@code n} of the burst's buffers. */
    public int txBurst(int q, PacketBurst burst, int n) {
        if (n <= 0 || !enter(2 * q + 1)) {
            return 0;
        }
        try {
            return packed ? packedPairs[q].transmit(burst, n) : pairs[q].transmit(burst, n);
        } finally {
            exit(2 * q + 1);
        }
    }

    /** One queue pair as set up for one device: everything a burst reads is a final field here. */
    private static final class QueuePair {
        final DriverQueue rxq;
        final DriverQueue txq;
        final PacketPool pool;
        final MemorySegment mem;
        final byte[] held;
        final Doorbell doorbell;
        final int rxVring;
        final int txVring;
        final long poolAddr;
        final int portId;
        /** Bytes in front of the data where a received header lands: 12, or 0 (then the data moves). */
        final int rxLead;

        final int rxLen;
        final boolean mergeable;
        final boolean indirect;
        final QueueCounters rx;
        final QueueCounters tx;
        final int[] rxLens = new int[PacketBurst.MAX_BURST];
        final int[] refill;
        final int[] txDone;
        final int[] txLens;
        final long[] chainAddrs;
        final int[] chainLens = {HDR, 0};
        /** MRG_RXBUF: continuation buffers to free, and a one-entry harvest for a frame's tail. */
        final int[] spent;

        final int[] one = new int[1];
        final int[] oneLen = new int[1];
        long rxErrorsSeen;
        long txErrorsSeen;

        QueuePair(VirtioNetDriver d, int q, DriverQueue rxq, DriverQueue txq, long features, long poolAddr, long hdr) {
            this.rxq = rxq;
            this.txq = txq;
            this.pool = d.pool;
            this.mem = pool.segment();
            this.held = d.held;
            this.doorbell = d.doorbell;
            this.rxVring = 2 * q;
            this.txVring = 2 * q + 1;
            this.poolAddr = poolAddr;
            this.portId = d.portId;
            this.rxLead = pool.headroom() >= HDR ? HDR : 0;
            this.rxLen = rxLead + pool.dataRoom();
            this.mergeable = VirtioFeatures.has(features, VirtioFeatures.F_MRG_RXBUF);
            this.indirect = txq.indirectMax() >= INDIRECT_MAX;
            this.rx = d.rx[q];
            this.tx = d.tx[q];
            this.refill = new int[rxq.size()];
            this.spent = new int[rxq.size()];
            this.txDone = new int[txq.size()];
            this.txLens = new int[txq.size()];
            this.chainAddrs = new long[] {hdr, 0};
            // what the queues counted before (a queue reused across installs) is not this pair's
            this.rxErrorsSeen = rxq.errors().severe();
            this.txErrorsSeen = txq.errors().severe();
        }

        int receive(PacketBurst burst) {
            int n = mergeable ? receiveMergeable(burst) : receiveOne(burst);
            if (rxq.freeDescriptors() >= Math.min(32, rxq.size() / 2) || rxq.inFlight() == 0) {
                refill();
            }
            // one read per burst; every driver-side kind is severe (ZERO_LENGTH is device-side only)
            long seen = rxq.errors().severe();
            if (seen != rxErrorsSeen) {
                rx.addErrors(seen - rxErrorsSeen);
                rxErrorsSeen = seen;
            }
            return n;
        }

        /** Without MRG_RXBUF: one buffer per frame. */
        private int receiveOne(PacketBurst burst) {
            int[] h = burst.handles;
            int[] lens = rxLens;
            int got = rxq.harvest(h, lens, burst.maxBurst());
            int n = 0;
            long bytes = 0;
            int bad = 0;
            for (int i = 0; i < got; i++) {
                int b = h[i];
                held[b] = 0;
                int frame = lens[i] - HDR; // harvest never lets a length pass the buffer
                if (frame <= 0) {
                    bad++; // no frame behind the header: dropped, counted
                    pool.free(b);
                    continue;
                }
                stamp(b, frame);
                h[n++] = b;
                bytes += frame;
            }
            count(n, bytes, bad);
            return n;
        }

        /**
         * With MRG_RXBUF (§5.1.6.4): each frame starts in a buffer whose header says in how many
         * buffers (num_buffers) it came; the others follow in the used ring. Their bytes are
         * gathered into the first buffer when the frame fits a pool buffer; otherwise the frame is
         * dropped and counted as an rx error. Continuation buffers go back in one bulk free.
         */
        private int receiveMergeable(PacketBurst burst) {
            int[] h = burst.handles;
            int[] lens = rxLens;
            int[] free = spent;
            int got = rxq.harvest(h, lens, burst.maxBurst());
            int n = 0;
            int freed = 0;
            long bytes = 0;
            int bad = 0;
            long room = pool.dataRoom() + rxLead - HDR; // frame bytes the first buffer holds
            int i = 0;
            while (i < got) {
                int b = h[i];
                int len = lens[i++];
                held[b] = 0;
                long start = pool.dataOffset(b) - rxLead; // where the device wrote
                int buffers = len < HDR ? 0 : VirtioNetHeader.numBuffers(mem, start);
                long frameAt = start + HDR;
                long frame = len - HDR;
                boolean ok = buffers >= 1 && frame >= 0;
                for (int k = 1; k < buffers; k++) {
                    int cb;
                    int clen;
                    if (i < got) {
                        cb = h[i];
                        clen = lens[i++];
                    } else if (rxq.harvest(one, oneLen, 1) == 1) {
                        cb = one[0];
                        clen = oneLen[0];
                    } else {
                        ok = false; // §5.1.6.4: the device publishes a frame's buffers together
                        break;
                    }
                    held[cb] = 0;
                    if (ok && frame + clen <= room) {
                        MemorySegment.copy(mem, pool.dataOffset(cb) - rxLead, mem, frameAt + frame, clen);
                        frame += clen;
                    } else {
                        ok = false;
                    }
                    free[freed++] = cb;
                }
                if (!ok || frame == 0) {
                    bad++; // no frame, a bad num_buffers, or a frame larger than a pool buffer
                    free[freed++] = b;
                    continue;
                }
                stamp(b, (int) frame);
                h[n++] = b;
                bytes += frame;
            }
            if (freed > 0) {
                pool.freeBulk(free, 0, freed);
            }
            count(n, bytes, bad);
            return n;
        }

        /** A received buffer as a packet: {@code frame} bytes after the header, from this port. */
        private void stamp(int b, int frame) {
            if (rxLead == 0) {
                pool.setLength(b, frame + HDR);
                pool.adjust(b, HDR); // the header took the first 12 bytes of the data room
            } else {
                pool.setLength(b, frame);
            }
            pool.setPort(b, portId);
        }

        private void count(int n, long bytes, int bad) {
            if (n > 0) {
                rx.add(n, bytes);
            }
            if (bad > 0) {
                rx.addErrors(bad);
            }
        }

        /** Posts fresh pool buffers as device-writable descriptors until the ring is full (§5.1.6.3). */
        void refill() {
            int want = rxq.freeDescriptors();
            if (want == 0) {
                return;
            }
            int[] h = refill;
            int got = pool.allocBulk(h, 0, want);
            if (got < want) {
                rx.addNombuf(want - got);
            }
            for (int i = 0; i < got; i++) {
                int b = h[i];
                rxq.addIn(poolAddr + pool.dataOffset(b) - rxLead, rxLen, b);
                held[b] = 1;
            }
            if (got > 0 && rxq.publish()) {
                doorbell.kick(rxVring);
            }
        }

        /** Frees what the device has sent, then posts the burst's buffers (header in the headroom). */
        int transmit(PacketBurst burst, int n) {
            reclaim();
            int[] h = burst.handles;
            long[] addrs = chainAddrs;
            int[] lens = chainLens;
            long bytes = 0;
            int k = 0;
            while (k < n) {
                int b = h[k];
                int len = pool.length(b);
                long off = pool.dataOffset(b);
                boolean ok;
                if (off - pool.bufferOffset(b) >= HDR) {
                    // §5.1.6.2: a zeroed header (no checksum offload, no GSO), in front of the frame
                    mem.set(LONG, off - HDR, 0L);
                    mem.set(INT, off - 4, 0);
                    ok = txq.addOut(poolAddr + off - HDR, HDR + len, b);
                } else {
                    addrs[1] = poolAddr + off;
                    lens[1] = len;
                    ok = indirect ? txq.addIndirect(addrs, lens, 2, 0, b) : txq.add(addrs, lens, 2, 0, b);
                }
                if (!ok) {
                    break; // ring full: the rest stays with the caller
                }
                held[b] = 1;
                bytes += len;
                k++;
            }
            if (k > 0) {
                tx.add(k, bytes);
                if (txq.publish()) {
                    doorbell.kick(txVring);
                }
            }
            long seen = txq.errors().severe();
            if (seen != txErrorsSeen) {
                tx.addErrors(seen - txErrorsSeen);
                txErrorsSeen = seen;
            }
            return k;
        }

        /** Returns the transmitted buffers the device is done with to the pool. */
        private void reclaim() {
            if (txq.inFlight() == 0) {
                return;
            }
            int[] done = txDone;
            int got = txq.harvest(done, txLens, done.length);
            for (int i = 0; i < got; i++) {
                held[done[i]] = 0;
            }
            pool.freeBulk(done, 0, got);
        }
    }

    /** The same queue pair on packed rings (VIRTIO_F_RING_PACKED): a copy of QueuePair on PackedDriverQueue, so each pair's queue calls stay monomorphic. */
    private static final class PackedPair {
        final PackedDriverQueue rxq;
        final PackedDriverQueue txq;
        final PacketPool pool;
        final MemorySegment mem;
        final byte[] held;
        final Doorbell doorbell;
        final int rxVring;
        final int txVring;
        final long poolAddr;
        final int portId;
        /** Bytes in front of the data where a received header lands: 12, or 0 (then the data moves). */
        final int rxLead;

        final int rxLen;
        final boolean mergeable;
        final boolean indirect;
        final QueueCounters rx;
        final QueueCounters tx;
        final int[] rxLens = new int[PacketBurst.MAX_BURST];
        final int[] refill;
        final int[] txDone;
        final int[] txLens;
        final long[] chainAddrs;
        final int[] chainLens = {HDR, 0};
        /** MRG_RXBUF: continuation buffers to free, and a one-entry harvest for a frame's tail. */
        final int[] spent;

        final int[] one = new int[1];
        final int[] oneLen = new int[1];
        long rxErrorsSeen;
        long txErrorsSeen;

        PackedPair(
                VirtioNetDriver d,
                int q,
                PackedDriverQueue rxq,
                PackedDriverQueue txq,
                long features,
                long poolAddr,
                long hdr) {
            this.rxq = rxq;
            this.txq = txq;
            this.pool = d.pool;
            this.mem = pool.segment();
            this.held = d.held;
            this.doorbell = d.doorbell;
            this.rxVring = 2 * q;
            this.txVring = 2 * q + 1;
            this.poolAddr = poolAddr;
            this.portId = d.portId;
            this.rxLead = pool.headroom() >= HDR ? HDR : 0;
            this.rxLen = rxLead + pool.dataRoom();
            this.mergeable = VirtioFeatures.has(features, VirtioFeatures.F_MRG_RXBUF);
            this.indirect = txq.indirectMax() >= INDIRECT_MAX;
            this.rx = d.rx[q];
            this.tx = d.tx[q];
            this.refill = new int[rxq.size()];
            this.spent = new int[rxq.size()];
            this.txDone = new int[txq.size()];
            this.txLens = new int[txq.size()];
            this.chainAddrs = new long[] {hdr, 0};
            // what the queues counted before (a queue reused across installs) is not this pair's
            this.rxErrorsSeen = rxq.errors().severe();
            this.txErrorsSeen = txq.errors().severe();
        }

        int receive(PacketBurst burst) {
            int n = mergeable ? receiveMergeable(burst) : receiveOne(burst);
            if (rxq.freeDescriptors() >= Math.min(32, rxq.size() / 2) || rxq.inFlight() == 0) {
                refill();
            }
            // one read per burst; every driver-side kind is severe (ZERO_LENGTH is device-side only)
            long seen = rxq.errors().severe();
            if (seen != rxErrorsSeen) {
                rx.addErrors(seen - rxErrorsSeen);
                rxErrorsSeen = seen;
            }
            return n;
        }

        /** Without MRG_RXBUF: one buffer per frame. */
        private int receiveOne(PacketBurst burst) {
            int[] h = burst.handles;
            int[] lens = rxLens;
            int got = rxq.harvest(h, lens, burst.maxBurst());
            int n = 0;
            long bytes = 0;
            int bad = 0;
            for (int i = 0; i < got; i++) {
                int b = h[i];
                held[b] = 0;
                int frame = lens[i] - HDR; // harvest never lets a length pass the buffer
                if (frame <= 0) {
                    bad++; // no frame behind the header: dropped, counted
                    pool.free(b);
                    continue;
                }
                stamp(b, frame);
                h[n++] = b;
                bytes += frame;
            }
            count(n, bytes, bad);
            return n;
        }

        /**
         * With MRG_RXBUF (§5.1.6.4): each frame starts in a buffer whose header says in how many
         * buffers (num_buffers) it came; the others follow in the used ring. Their bytes are
         * gathered into the first buffer when the frame fits a pool buffer; otherwise the frame is
         * dropped and counted as an rx error. Continuation buffers go back in one bulk free.
         */
        private int receiveMergeable(PacketBurst burst) {
            int[] h = burst.handles;
            int[] lens = rxLens;
            int[] free = spent;
            int got = rxq.harvest(h, lens, burst.maxBurst());
            int n = 0;
            int freed = 0;
            long bytes = 0;
            int bad = 0;
            long room = pool.dataRoom() + rxLead - HDR; // frame bytes the first buffer holds
            int i = 0;
            while (i < got) {
                int b = h[i];
                int len = lens[i++];
                held[b] = 0;
                long start = pool.dataOffset(b) - rxLead; // where the device wrote
                int buffers = len < HDR ? 0 : VirtioNetHeader.numBuffers(mem, start);
                long frameAt = start + HDR;
                long frame = len - HDR;
                boolean ok = buffers >= 1 && frame >= 0;
                for (int k = 1; k < buffers; k++) {
                    int cb;
                    int clen;
                    if (i < got) {
                        cb = h[i];
                        clen = lens[i++];
                    } else if (rxq.harvest(one, oneLen, 1) == 1) {
                        cb = one[0];
                        clen = oneLen[0];
                    } else {
                        ok = false; // §5.1.6.4: the device publishes a frame's buffers together
                        break;
                    }
                    held[cb] = 0;
                    if (ok && frame + clen <= room) {
                        MemorySegment.copy(mem, pool.dataOffset(cb) - rxLead, mem, frameAt + frame, clen);
                        frame += clen;
                    } else {
                        ok = false;
                    }
                    free[freed++] = cb;
                }
                if (!ok || frame == 0) {
                    bad++; // no frame, a bad num_buffers, or a frame larger than a pool buffer
                    free[freed++] = b;
                    continue;
                }
                stamp(b, (int) frame);
                h[n++] = b;
                bytes += frame;
            }
            if (freed > 0) {
                pool.freeBulk(free, 0, freed);
            }
            count(n, bytes, bad);
            return n;
        }

        /** A received buffer as a packet: {@code frame} bytes after the header, from this port. */
        private void stamp(int b, int frame) {
            if (rxLead == 0) {
                pool.setLength(b, frame + HDR);
                pool.adjust(b, HDR); // the header took the first 12 bytes of the data room
            } else {
                pool.setLength(b, frame);
            }
            pool.setPort(b, portId);
        }

        private void count(int n, long bytes, int bad) {
            if (n > 0) {
                rx.add(n, bytes);
            }
            if (bad > 0) {
                rx.addErrors(bad);
            }
        }

        /** Posts fresh pool buffers as device-writable descriptors until the ring is full (§5.1.6.3). */
        void refill() {
            int want = rxq.freeDescriptors();
            if (want == 0) {
                return;
            }
            int[] h = refill;
            int got = pool.allocBulk(h, 0, want);
            if (got < want) {
                rx.addNombuf(want - got);
            }
            for (int i = 0; i < got; i++) {
                int b = h[i];
                rxq.addIn(poolAddr + pool.dataOffset(b) - rxLead, rxLen, b);
                held[b] = 1;
            }
            if (got > 0 && rxq.publish()) {
                doorbell.kick(rxVring);
            }
        }

        /** Frees what the device has sent, then posts the burst's buffers (header in the headroom). */
        int transmit(PacketBurst burst, int n) {
            reclaim();
            int[] h = burst.handles;
            long[] addrs = chainAddrs;
            int[] lens = chainLens;
            long bytes = 0;
            int k = 0;
            while (k < n) {
                int b = h[k];
                int len = pool.length(b);
                long off = pool.dataOffset(b);
                boolean ok;
                if (off - pool.bufferOffset(b) >= HDR) {
                    // §5.1.6.2: a zeroed header (no checksum offload, no GSO), in front of the frame
                    mem.set(LONG, off - HDR, 0L);
                    mem.set(INT, off - 4, 0);
                    ok = txq.addOut(poolAddr + off - HDR, HDR + len, b);
                } else {
                    addrs[1] = poolAddr + off;
                    lens[1] = len;
                    ok = indirect ? txq.addIndirect(addrs, lens, 2, 0, b) : txq.add(addrs, lens, 2, 0, b);
                }
                if (!ok) {
                    break; // ring full: the rest stays with the caller
                }
                held[b] = 1;
                bytes += len;
                k++;
            }
            if (k > 0) {
                tx.add(k, bytes);
                if (txq.publish()) {
                    doorbell.kick(txVring);
                }
            }
            long seen = txq.errors().severe();
            if (seen != txErrorsSeen) {
                tx.addErrors(seen - txErrorsSeen);
                txErrorsSeen = seen;
            }
            return k;
        }

        /** Returns the transmitted buffers the device is done with to the pool. */
        private void reclaim() {
            if (txq.inFlight() == 0) {
                return;
            }
            int[] done = txDone;
            int got = txq.harvest(done, txLens, done.length);
            for (int i = 0; i < got; i++) {
                held[done[i]] = 0;
            }
            pool.freeBulk(done, 0, got);
        }
    }
}
