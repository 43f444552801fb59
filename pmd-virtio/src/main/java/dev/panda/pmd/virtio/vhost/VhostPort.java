package dev.panda.pmd.virtio.vhost;

import dev.panda.jextract.Posix;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.port.QueueCounters;
import dev.panda.pmd.virtio.ring.Chain;
import dev.panda.pmd.virtio.ring.DeviceQueue;
import dev.panda.pmd.virtio.ring.VirtioNetHeader;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * {@code net_vhost}: panda as the vhost-user back-end of a VM or a virtio-user process. Queue
 * pair q is vrings 2q (the guest's receive queue: panda transmits there) and 2q + 1 (the guest's
 * transmit queue: panda receives from it), virtio 1.2 §5.1.2. The vrings come and go with the
 * front-end ({@link VhostBackend}); a burst on a vring that is not running moves nothing.
 *
 * <p>Packets are copied between guest buffers and pool buffers (the guest's memory is not the
 * pool's), behind the 12-byte VIRTIO_F_VERSION_1 header (§5.1.6), one chain per packet (no
 * VIRTIO_NET_F_MRG_RXBUF). Nothing here allocates per packet.
 */
final class VhostPort implements Port {

    private static final long HDR = VirtioNetHeader.BYTES;
    /** The header panda writes in front of every packet it sends: no offloads, num_buffers 1 (§5.1.6.3.1). */
    private static final MemorySegment TX_HEADER = txHeader();

    private final String name;
    private final PacketPool pool;
    private final int portId;
    private final int queues;
    private final long mac;
    private final VringSlot[] slots;
    private final QueueCounters[] rx;
    private final QueueCounters[] tx;
    private final QueueCounters[] nombuf;
    private final VhostBackend backend;
    private volatile boolean closed;

    VhostPort(String name, PacketPool pool, int portId, int queues, Path iface, boolean client) {
        this.name = name;
        this.pool = pool;
        this.portId = portId;
        this.queues = queues;
        this.mac = 0x02_70_6e_00_76_00L | (portId & 0xff);
        this.slots = new VringSlot[2 * queues];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new VringSlot();
        }
        this.rx = QueueCounters.array(queues);
        this.tx = QueueCounters.array(queues);
        this.nombuf = QueueCounters.array(queues);
        this.backend = new VhostBackend(name, iface, client, queues, slots);
        backend.start();
    }

    private static MemorySegment txHeader() {
        MemorySegment h = Arena.global().allocate(VirtioNetHeader.LAYOUT);
        VirtioNetHeader.NUM_BUFFERS.set(h, 0L, (short) 1);
        return h;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String driverName() {
        return VhostPortDriver.NAME;
    }

    @Override
    public int rxQueueCount() {
        return queues;
    }

    @Override
    public int txQueueCount() {
        return queues;
    }

    @Override
    public int rxBurst(int queue, PacketBurst burst) {
        VringSlot slot = slots[2 * queue + 1];
        VringSlot.Live live = slot.enter();
        try {
            int n = live == null ? 0 : receive(queue, live, burst);
            burst.size = n;
            return n;
        } finally {
            slot.exit();
        }
    }

    /** Guest TX vring → pool buffers: skip the header, copy the frame, return the chain (len 0). */
    private int receive(int queue, VringSlot.Live live, PacketBurst burst) {
        DeviceQueue q = live.queue;
        int want = Math.min(burst.maxBurst(), q.available());
        int n = 0;
        if (want > 0) {
            int[] h = burst.handles;
            int got = pool.allocBulk(h, 0, want);
            if (got < want) {
                // the chains stay in the ring for a later burst: nothing is lost, as rx_nombuf says
                nombuf[queue].add(want - got, 0);
            }
            Chain c = live.chain;
            MemorySegment mem = pool.segment();
            long room = pool.maxPacketLength();
            long bytes = 0;
            int bad = 0;
            while (n < got && q.pop(c)) {
                long frame = c.readableBytes() - HDR;
                if (frame <= 0 || frame > room) {
                    bad++;   // no frame behind the header, or larger than a buffer: dropped, counted
                } else {
                    int b = h[n];
                    c.copyFromReadable(HDR, mem, pool.dataOffset(b), frame);
                    pool.setLength(b, (int) frame);
                    pool.setPort(b, portId);
                    bytes += frame;
                    n++;
                }
                q.pushUsed(c.head(), 0);   // §2.7.8: nothing written into a device-readable chain
            }
            if (n < got) {
                pool.freeBulk(h, n, got - n);
            }
            if (n > 0) {
                rx[queue].add(n, bytes);
            }
            if (bad > 0) {
                rx[queue].addErrors(bad);
            }
        }
        finish(live, rx[queue]);
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
            return live == null ? 0 : transmit(queue, live, burst, n);
        } finally {
            slot.exit();
        }
    }

    /** Pool buffers → guest RX vring: header, then the frame into the chain's writable buffers. */
    private int transmit(int queue, VringSlot.Live live, PacketBurst burst, int n) {
        DeviceQueue q = live.queue;
        Chain c = live.chain;
        int[] h = burst.handles;
        MemorySegment mem = pool.segment();
        long bytes = 0;
        int k = 0;
        int tooSmall = 0;
        while (k < n && q.pop(c)) {
            int b = h[k++];
            int len = pool.length(b);
            if (c.writableBytes() < HDR + len) {
                // a receive buffer smaller than the packet (the driver must size them, §5.1.6.3.1)
                tooSmall++;
                q.pushUsed(c.head(), 0);
                continue;
            }
            c.copyToWritable(0, TX_HEADER, 0, HDR);
            c.copyToWritable(HDR, mem, pool.dataOffset(b), len);
            q.pushUsed(c.head(), HDR + len);
            bytes += len;
        }
        if (k > 0) {
            pool.freeBulk(h, 0, k);
            tx[queue].add(k - tooSmall, bytes);
            if (tooSmall > 0) {
                tx[queue].addErrors(tooSmall);
            }
        }
        finish(live, tx[queue]);
        return k;
    }

    /** Publishes used entries, interrupts the driver if it wants it, counts what the ring refused. */
    private static void finish(VringSlot.Live live, QueueCounters counters) {
        DeviceQueue q = live.queue;
        if (q.publishUsed() && live.call != null) {
            // a call fd the front-end broke only costs it the interrupt; the ring still works
            Posix.eventfdSignal(live.call);
        }
        long seen = q.errors().severe();
        if (seen != live.errorsSeen) {
            counters.addErrors(seen - live.errorsSeen);
            live.errorsSeen = seen;
        }
    }

    @Override
    public PortStats stats() {
        long nb = 0;
        for (QueueCounters c : nombuf) {
            nb += c.packets();
        }
        return QueueCounters.snapshot(rx, tx, nb);
    }

    @Override
    public long mac() {
        return mac;
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

    @Override
    public String toString() {
        return name + "[" + queues + " queue pair(s)" + (backend.ready() ? ", running]" : "]");
    }
}
