package dev.panda.pmd.virtio.virtiouser;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.AbstractPort;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.QueueCounters;
import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.ring.DriverQueue;
import dev.panda.pmd.virtio.ring.RingErrors;
import dev.panda.pmd.virtio.ring.VirtioNetHeader;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code net_virtio_user}: panda as the virtio-net driver of a vhost-user back-end, the kernel's
 * vhost-net or a vDPA device (the {@link VhostTransport} says which; the queues are the same). Queue pair q
 * is vrings 2q (receiveq: panda posts empty pool buffers) and 2q + 1 (transmitq: panda posts
 * packets), virtio 1.2 §5.1.2. Zero copy: the back-end maps the pool's memfd and reads or writes
 * the pool buffers themselves (descriptors carry the addresses the transport's {@code map} gave
 * the pool and the rings: panda's own for vhost-user and vhost-net, IOVAs for vhost-vdpa); the 12-byte VIRTIO_F_VERSION_1 header (§5.1.6) sits in each
 * buffer's headroom, just in front of the frame (a buffer without 12 bytes of headroom is sent
 * as a two-descriptor chain with a shared zero header).
 *
 * <p>A buffer handed to the back-end belongs to the port until it comes back in the used ring;
 * {@link #close()} stops the rings (GET_VRING_BASE) and frees every buffer still out. The
 * connection is the {@link VirtioUserSession}'s: when the back-end goes away the link goes down,
 * the pollers leave the rings, the buffers it held return to the pool (counted in
 * {@link #buffersReclaimed()}), and the rings start from zero with the next back-end.
 *
 * <p>The features are negotiated with each back-end, and the queues built for them, before the
 * rings are offered: VIRTIO_RING_F_EVENT_IDX (the queues' notification scheme),
 * VIRTIO_RING_F_INDIRECT_DESC (a headerless packet goes as a two-entry indirect table rather than
 * a two-descriptor chain) and VIRTIO_NET_F_MRG_RXBUF (a frame may come in several receive
 * buffers, §5.1.6.4: gathered into the first when it fits a pool buffer, else dropped and
 * counted; the receive path is chosen once per connection). Used buffer notifications are off
 * (panda polls) and a kick goes only when the back-end asks.
 */
final class VirtioUserPort extends AbstractPort {

    private static final System.Logger LOG = System.getLogger(VirtioUserPort.class.getName());
    private static final int HDR = (int) VirtioNetHeader.BYTES;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final long PAGE = 4096;
    /** Entries of the indirect table a headerless packet takes (header, frame). */
    private static final int INDIRECT_MAX = 2;

    private static final long QUIESCE_NANOS = 2_000_000_000L;

    private final PacketPool pool;
    private final MemorySegment mem;
    private final long base;
    /**
     * The pool's and the rings' first byte as the device knows them (the transport's map);
     * written by the control thread before {@code running}.
     */
    private long poolDev;

    private long ringDev;
    private final int portId;
    private final int queues;
    private final int qsize;
    /** Bytes in front of the data where a received header lands: 12, or 0 (then the data moves). */
    private final int rxLead;

    private final int rxLen;
    private final Fd ringFd;
    private final MemorySegment ringMem;
    private final long ringBytes;
    private final long ringTotal;
    private final long sharedHeader;
    private final DriverQueue[] rxq;
    private final DriverQueue[] txq;
    private final Fd[] kicks;
    private final Fd[] calls;
    /** Per buffer: 1 while the back-end holds it (written only by the queue's poller). */
    private final byte[] held;

    private final int[][] rxLens;
    private final int[][] refill;
    private final int[][] txDone;
    private final int[][] txLens;
    private final long[][] chainAddrs;
    private final int[][] chainLens;
    /** MRG_RXBUF: continuation buffers to free per queue, and a one-entry harvest for a frame's tail. */
    private final int[][] spent;

    private final int[][] one;
    private final int[][] oneLen;
    /** What the connection negotiated; written by the control thread before {@code running}. */
    private boolean mergeable;

    private boolean indirect;
    private volatile long negotiated;
    private final long[] rxErrorsSeen;
    private final long[] txErrorsSeen;
    /** Per queue and direction (slot 2q rx, 2q + 1 tx, a cache line apart): 1 while a burst runs. */
    private final int[] busy;

    private static final VarHandle BUSY = java.lang.invoke.MethodHandles.arrayElementVarHandle(int[].class);
    private final Control session;
    /** Set by the control thread once the rings run with a back-end; the pollers touch nothing without it. */
    private volatile boolean running;

    private volatile boolean closed;
    private volatile long reclaimed;

    /**
     * Who owns the device: a {@link VirtioUserSession} (vhost-user: its own thread, reconnects)
     * or a {@link KernelControl} (vhost-net, vhost-vdpa: set up once).
     */
    interface Control {
        /** Starts watching the device (after the port is built). */
        void start();

        /** Takes the rings down through the device if it is there, and releases it. */
        void close();

        /** True once nothing runs any more (the rings and eventfds may go). */
        boolean stopped();

        /** Times the device went away while the rings ran. */
        long disconnects();
    }

    /** Builds the port's control over {@code device}; for a kernel device this sets the rings up. */
    interface ControlFactory {
        Control open(VirtioUserSession.Device device);
    }

    /** The MAC panda makes up for a device without one (a locally administered address). */
    static long defaultMac(int portId) {
        return 0x02_70_6e_00_75_00L | (portId & 0xff);
    }

    /** A vhost-user port: connects to PATH (or, with {@code server}, listens on it). */
    static VirtioUserPort vhostUser(
            String name, PacketPool pool, int portId, int queues, int qsize, Path path, boolean server) {
        return new VirtioUserPort(name, pool, portId, queues, qsize, defaultMac(portId), d -> {
            VirtioUserSession s = new VirtioUserSession(name, path, server, d);
            if (!server) {
                try {
                    s.connectFirst(); // a back-end that is not there fails the open, as DPDK's virtio-user
                } catch (RuntimeException e) {
                    s.close();
                    throw e;
                }
            }
            return s;
        });
    }

    /** A port on a kernel device (vhost-net, vhost-vdpa), which it owns from now on (closed on failure too). */
    static VirtioUserPort kernel(
            String name, PacketPool pool, int portId, int qsize, long mac, VhostTransport transport) {
        try {
            return new VirtioUserPort(name, pool, portId, 1, qsize, mac, d -> new KernelControl(name, transport, d));
        } catch (RuntimeException e) {
            transport.close();
            throw e;
        }
    }

    VirtioUserPort(String name, PacketPool pool, int portId, int queues, int qsize, long mac, ControlFactory control) {
        super(name, VirtioUserDriver.NAME, queues, queues, mac);
        this.pool = pool;
        this.mem = pool.segment();
        this.base = mem.address();
        this.portId = portId;
        this.queues = queues;
        this.qsize = qsize;
        this.rxLead = pool.headroom() >= HDR ? HDR : 0;
        this.rxLen = rxLead + pool.dataRoom();
        this.held = new byte[pool.capacity()];
        this.rxq = new DriverQueue[queues];
        this.txq = new DriverQueue[queues];
        this.kicks = new Fd[2 * queues];
        this.calls = new Fd[2 * queues];
        this.rxLens = new int[queues][];
        this.refill = new int[queues][];
        this.txDone = new int[queues][];
        this.txLens = new int[queues][];
        this.chainAddrs = new long[queues][];
        this.chainLens = new int[queues][];
        this.spent = new int[queues][];
        this.one = new int[queues][];
        this.oneLen = new int[queues][];
        this.rxErrorsSeen = new long[queues];
        this.txErrorsSeen = new long[queues];
        this.busy = new int[2 * queues * 16];
        // room for two-entry indirect tables whether or not a back-end takes INDIRECT_DESC
        this.ringBytes = align(DriverQueue.bytes(qsize, INDIRECT_MAX), PAGE);
        this.ringTotal = 2 * queues * ringBytes + PAGE; // the last page holds the shared tx header
        this.ringFd = Posix.memfdCreate("panda-virtio-user-rings", Posix.MFD_CLOEXEC);
        MemorySegment rings = null;
        Control s = null;
        try {
            Posix.ftruncate(ringFd, ringTotal);
            rings = Posix.mmap(ringTotal, Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_SHARED, ringFd, 0);
            this.ringMem = rings;
            this.sharedHeader = rings.address() + ringTotal - PAGE; // zero: fresh memfd pages
            for (int q = 0; q < queues; q++) {
                rxLens[q] = new int[PacketBurst.MAX_BURST];
                refill[q] = new int[qsize];
                txDone[q] = new int[qsize];
                txLens[q] = new int[qsize];
                chainAddrs[q] = new long[] {0, 0}; // the shared header's device address comes with attach
                chainLens[q] = new int[] {HDR, 0};
                spent[q] = new int[qsize];
                one[q] = new int[1];
                oneLen[q] = new int[1];
            }
            createQueues(0);
            for (int v = 0; v < 2 * queues; v++) {
                kicks[v] = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
                calls[v] = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC);
            }
            s = control.open(new VirtioUserSession.Device() {
                @Override
                public void attach(VhostTransport transport) {
                    VirtioUserPort.this.attach(transport);
                }

                @Override
                public void detach(VhostTransport transport) {
                    VirtioUserPort.this.detach(transport);
                }
            });
        } catch (RuntimeException e) {
            releaseBuffers();
            for (Fd fd : kicks) {
                closeQuietly(fd);
            }
            for (Fd fd : calls) {
                closeQuietly(fd);
            }
            if (rings != null) {
                Posix.munmap(rings);
            }
            ringFd.close();
            throw e;
        }
        this.session = s;
        s.start();
    }

    /**
     * Fresh, zeroed rings in the shared block (§2.7: every index starts at 0), interrupts off, of
     * the classes the {@code features} call for.
     */
    private void createQueues(long features) {
        int indirectMax = (features & VhostTransport.F_INDIRECT_DESC) != 0 ? INDIRECT_MAX : 0;
        for (int q = 0; q < queues; q++) {
            long off = 2L * q * ringBytes;
            rxq[q] = DriverQueue.create(
                    name() + "-rxq" + q, ringMem.asSlice(off, ringBytes), ringDev + off, qsize, features, 0);
            txq[q] = DriverQueue.create(
                    name() + "-txq" + q,
                    ringMem.asSlice(off + ringBytes, ringBytes),
                    ringDev + off + ringBytes,
                    qsize,
                    features,
                    indirectMax);
            // panda polls: no used buffer notifications (§2.7.7, advisory)
            rxq[q].disableInterrupts();
            txq[q].disableInterrupts();
            rxErrorsSeen[q] = 0;
            txErrorsSeen[q] = 0;
        }
    }

    /**
     * Control thread, rings idle (no poller can enter): negotiates, offers the pool and the rings
     * (the transport's map says at which device addresses), builds the queues at those addresses,
     * fills the receive rings, sets every vring up, enables it and starts the device; then the
     * pollers may run.
     */
    private void attach(VhostTransport t) {
        // features first: they decide the queues' classes
        long f = t.negotiate(queues);
        mergeable = (f & VhostTransport.F_MRG_RXBUF) != 0;
        indirect = (f & VhostTransport.F_INDIRECT_DESC) != 0;
        negotiated = f;
        long[] dev = t.map(List.of(
                new VhostTransport.Region(base, pool.regionBytes(), pool.fd()),
                new VhostTransport.Region(ringMem.address(), ringTotal, ringFd)));
        poolDev = dev[0];
        ringDev = dev[1];
        for (int q = 0; q < queues; q++) {
            chainAddrs[q][0] = ringDev + (sharedHeader - ringMem.address());
        }
        createQueues(f);
        for (int q = 0; q < queues; q++) {
            refill(q); // the receive queues start full, before the device sees them
        }
        for (int q = 0; q < queues; q++) {
            t.setVring(2 * q, rxq[q], kicks[2 * q], calls[2 * q]);
            t.setVring(2 * q + 1, txq[q], kicks[2 * q + 1], calls[2 * q + 1]);
        }
        for (int v = 0; v < 2 * queues; v++) {
            t.enable(v);
        }
        t.start();
        for (int q = 0; q < queues; q++) {
            // buffers posted before the device started: tell it (it may be waiting for a kick)
            Posix.eventfdSignal(kicks[2 * q]);
        }
        running = true;
    }

    /**
     * Control thread: the pollers leave the rings, the device stops them (GET_VRING_BASE, a
     * reset; when {@code t} is a live device), every buffer it held goes back to the pool
     * (counted), and the rings start again from zero for the next back-end.
     */
    private void detach(VhostTransport t) {
        running = false;
        quiesce();
        if (t != null) {
            try {
                t.stop(2 * queues);
            } catch (RuntimeException e) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "{0}: stopping the vrings failed ({1}); closing the device",
                        name(),
                        e.getMessage());
            }
        }
        int back = releaseBuffers();
        if (back > 0) {
            LOG.log(System.Logger.Level.INFO, "{0}: {1} buffer(s) the device held returned to the pool", name(), back);
        }
        createQueues(0);
    }

    /** Waits until no poller is inside a burst (they see {@code running} false from now on). */
    private void quiesce() {
        VarHandle.fullFence();
        long deadline = System.nanoTime() + QUIESCE_NANOS;
        for (int slot = 0; slot < 2 * queues; slot++) {
            while ((int) BUSY.getVolatile(busy, slot * 16) != 0) {
                if (System.nanoTime() > deadline) {
                    LOG.log(
                            System.Logger.Level.ERROR,
                            "{0}: {1} queue {2} still in a burst after 2 s; going on anyway",
                            name(),
                            slot % 2 == 0 ? "rx" : "tx",
                            slot / 2);
                    break;
                }
                Thread.onSpinWait();
                Thread.yield();
            }
        }
    }

    /** The features negotiated with the current (or last) back-end (SET_FEATURES). */
    long features() {
        return negotiated;
    }

    /** The pool's and the rings' first byte as the device knows them (from the last set-up). */
    long[] deviceAddresses() {
        return new long[] {poolDev, ringDev};
    }

    /** The pool's and the rings' first byte in panda's address space. */
    long[] userAddresses() {
        return new long[] {base, ringMem.address()};
    }

    /** Buffers returned to the pool because a back-end went away or the port closed while holding them. */
    long buffersReclaimed() {
        return reclaimed;
    }

    /** Times the back-end went away while the rings ran. */
    long disconnects() {
        return session.disconnects();
    }

    private static long align(long v, long to) {
        return (v + to - 1) / to * to;
    }

    /**
     * Marks a burst on {@code slot} as running, unless the rings are not. Dekker with
     * {@link #quiesce()}: a volatile store of busy, then a load of running; the control thread
     * stores running, then loads busy.
     * Each slot has one writer, the poller of that queue and direction.
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

    @Override
    public int rxBurst(int queue, PacketBurst burst) {
        if (!enter(2 * queue)) {
            burst.size = 0;
            return 0;
        }
        try {
            int n = mergeable ? receiveMergeable(queue, burst) : receive(queue, burst);
            burst.size = n;
            return n;
        } finally {
            exit(2 * queue);
        }
    }

    /** Used receive buffers → the burst (header stripped), then the ring is topped up again. */
    private int receive(int queue, PacketBurst burst) {
        DriverQueue q = rxq[queue];
        int[] h = burst.handles;
        int[] lens = rxLens[queue];
        int got = q.harvest(h, lens, burst.maxBurst());
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
            if (rxLead == 0) {
                pool.setLength(b, lens[i]);
                pool.adjust(b, HDR); // the header took the first 12 bytes of the data room
            } else {
                pool.setLength(b, frame);
            }
            pool.setPort(b, portId);
            h[n++] = b;
            bytes += frame;
        }
        if (n > 0) {
            rxCounters[queue].add(n, bytes);
        }
        if (bad > 0) {
            rxCounters[queue].addErrors(bad);
        }
        if (q.freeDescriptors() >= Math.min(32, qsize / 2) || q.inFlight() == 0) {
            refill(queue);
        }
        countRingErrors(q, rxErrorsSeen, queue, rxCounters[queue]);
        return n;
    }

    /** Posts fresh pool buffers as device-writable descriptors until the ring is full (§5.1.6.3). */
    private void refill(int queue) {
        DriverQueue q = rxq[queue];
        int want = q.freeDescriptors();
        if (want == 0) {
            return;
        }
        int[] h = refill[queue];
        int got = pool.allocBulk(h, 0, want);
        if (got < want) {
            rxCounters[queue].addNombuf(want - got);
        }
        for (int i = 0; i < got; i++) {
            int b = h[i];
            q.addIn(poolDev + pool.dataOffset(b) - rxLead, rxLen, b);
            held[b] = 1;
        }
        if (got > 0 && q.publish()) {
            Posix.eventfdSignal(kicks[2 * queue]);
        }
    }

    /**
     * With MRG_RXBUF (§5.1.6.4): each frame starts in a buffer whose header says in how many
     * buffers (num_buffers) it came; the others follow in the used ring. Their bytes are gathered
     * into the first buffer when the frame fits a pool buffer; otherwise the frame is dropped and
     * counted as an rx error. Continuation buffers go back to the pool in one bulk free.
     */
    private int receiveMergeable(int queue, PacketBurst burst) {
        DriverQueue q = rxq[queue];
        int[] h = burst.handles;
        int[] lens = rxLens[queue];
        int[] free = spent[queue];
        int got = q.harvest(h, lens, burst.maxBurst());
        int n = 0;
        int freed = 0;
        long bytes = 0;
        int bad = 0;
        int i = 0;
        while (i < got) {
            int b = h[i];
            int len = lens[i++];
            held[b] = 0;
            long start = pool.dataOffset(b) - rxLead; // where the back-end wrote
            int buffers = len < HDR ? 0 : VirtioNetHeader.numBuffers(mem, start);
            long frameAt = start + HDR;
            long room = pool.dataRoom() + rxLead - HDR; // frame bytes the first buffer holds
            long frame = len - HDR;
            boolean ok = buffers >= 1 && frame >= 0;
            for (int k = 1; k < buffers; k++) {
                int cb;
                int clen;
                if (i < got) {
                    cb = h[i];
                    clen = lens[i++];
                } else if (q.harvest(one[queue], oneLen[queue], 1) == 1) {
                    cb = one[queue][0];
                    clen = oneLen[queue][0];
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
            if (rxLead == 0) {
                pool.setLength(b, (int) (frame + HDR));
                pool.adjust(b, HDR);
            } else {
                pool.setLength(b, (int) frame);
            }
            pool.setPort(b, portId);
            h[n++] = b;
            bytes += frame;
        }
        if (freed > 0) {
            pool.freeBulk(free, 0, freed);
        }
        if (n > 0) {
            rxCounters[queue].add(n, bytes);
        }
        if (bad > 0) {
            rxCounters[queue].addErrors(bad);
        }
        if (q.freeDescriptors() >= Math.min(32, qsize / 2) || q.inFlight() == 0) {
            refill(queue);
        }
        countRingErrors(q, rxErrorsSeen, queue, rxCounters[queue]);
        return n;
    }

    @Override
    public int txBurst(int queue, PacketBurst burst, int n) {
        if (n <= 0 || !enter(2 * queue + 1)) {
            return 0;
        }
        try {
            return transmit(queue, burst, n);
        } finally {
            exit(2 * queue + 1);
        }
    }

    /** Frees what the back-end has sent, then posts the burst's buffers (header in the headroom). */
    private int transmit(int queue, PacketBurst burst, int n) {
        DriverQueue q = txq[queue];
        reclaim(queue);
        int[] h = burst.handles;
        long[] addrs = chainAddrs[queue];
        int[] lens = chainLens[queue];
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
                ok = q.addOut(poolDev + off - HDR, HDR + len, b);
            } else {
                addrs[1] = poolDev + off;
                lens[1] = len;
                ok = indirect ? q.addIndirect(addrs, lens, 2, 0, b) : q.add(addrs, lens, 2, 0, b);
            }
            if (!ok) {
                break; // ring full: the rest stays with the caller
            }
            held[b] = 1;
            bytes += len;
            k++;
        }
        if (k > 0) {
            txCounters[queue].add(k, bytes);
            if (q.publish()) {
                Posix.eventfdSignal(kicks[2 * queue + 1]);
            }
        }
        countRingErrors(q, txErrorsSeen, queue, txCounters[queue]);
        return k;
    }

    /** Returns the transmitted buffers the back-end is done with to the pool. */
    private void reclaim(int queue) {
        DriverQueue q = txq[queue];
        if (q.inFlight() == 0) {
            return;
        }
        int[] done = txDone[queue];
        int got = q.harvest(done, txLens[queue], done.length);
        for (int i = 0; i < got; i++) {
            held[done[i]] = 0;
        }
        pool.freeBulk(done, 0, got);
    }

    private static void countRingErrors(DriverQueue q, long[] seenArr, int queue, QueueCounters counters) {
        RingErrors e = q.errors();
        long seen = e.total();
        if (seen != seenArr[queue]) {
            counters.addErrors(seen - seenArr[queue]);
            seenArr[queue] = seen;
        }
    }

    @Override
    public LinkStatus link() {
        return running ? LinkStatus.VIRTUAL_UP : LinkStatus.DOWN;
    }

    /**
     * Stops the control thread, which takes the rings down (pollers out, GET_VRING_BASE while the
     * back-end is there, every buffer still out back in the pool) and closes the socket; then
     * the rings and eventfds go.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        session.close();
        if (!session.stopped()) {
            LOG.log(
                    System.Logger.Level.ERROR,
                    "{0}: control thread still running; rings and eventfds left in place",
                    name());
            return;
        }
        for (Fd fd : kicks) {
            closeQuietly(fd);
        }
        for (Fd fd : calls) {
            closeQuietly(fd);
        }
        Posix.munmap(ringMem);
        ringFd.close();
    }

    /** Frees every buffer the back-end still holds (rings stopped, or never started); returns how many. */
    /**
     * Frees every buffer the rings still hold and counts them in {@link #buffersReclaimed()}. The
     * count is published before the first buffer goes back, so whoever sees the pool whole again
     * also sees them counted.
     */
    private int releaseBuffers() {
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

    private static void closeQuietly(Fd fd) {
        if (fd != null && fd.isOpen()) {
            fd.close();
        }
    }

    @Override
    public String toString() {
        return name() + "[" + queues + " queue pair(s) of " + qsize + (closed ? ", closed]" : "]");
    }
}
