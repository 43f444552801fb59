package dev.panda.pmd.vfio;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.pmd.virtio.ring.Chain;
import dev.panda.pmd.virtio.ring.DeviceQueue;
import dev.panda.pmd.virtio.ring.DriverQueue;
import dev.panda.pmd.virtio.ring.GuestMemory;
import dev.panda.pmd.virtio.ring.VirtioNetDriver;
import dev.panda.pmd.virtio.ring.VirtioNetHeader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A virtio-net device in software, behind the very {@link VirtioPciPort} a PCI device gets: the
 * rings sit in ordinary memory laid out as for the device (pmd-virtio's {@link DriverQueue}
 * block per queue), and pmd-virtio's {@link DeviceQueue} plays the device on them, with IOVA =
 * virtual address. For the benchmark (the PMD's own per-burst cost, no device, no IOMMU) and for
 * tests of the data path that need no VFIO. Its device methods run on the caller's thread.
 */
public final class SoftVirtioNet implements VirtioPciPort.Device, AutoCloseable {

    private static final long HDR = VirtioNetHeader.BYTES;

    private final Arena arena = Arena.ofShared();
    private final VirtioPciPort port;
    private final DeviceQueue rx;
    private final DeviceQueue tx;
    private final DriverQueue txq;
    private final int[] heads;
    private final long[] written;
    private final Chain rxChain;
    private final Chain txChain;
    private final long[] kicks = new long[2];
    private final MemorySegment zeroHeader = arena.allocate(HDR, 8);
    private final MemorySegment scratch = arena.allocate(65536, 64);
    private boolean stopped;
    private boolean released;

    /** Opens a port named {@code name} on {@code pool} with queues of {@code size}, attached to this device. */
    public SoftVirtioNet(String name, PacketPool pool, int portId, int size) {
        this(name, pool, portId, size, 0);
    }

    /**
     * The same with {@code features} negotiated (VIRTIO_NET_F_MRG_RXBUF, VIRTIO_F_INDIRECT_DESC,
     * as a PCI device that offers them would have).
     */
    public SoftVirtioNet(String name, PacketPool pool, int portId, int size, long features) {
        zeroHeader.set(ValueLayout.JAVA_SHORT_UNALIGNED, HDR - 2, (short) 1); // num_buffers 1 (§5.1.6.4)
        long rxBytes = DriverQueue.bytes(size, 0);
        long txBytes = VirtioNetDriver.queueBytes(size, features);
        MemorySegment rings = arena.allocate(align(rxBytes) + align(txBytes) + 4096, 4096);
        DriverQueue rxq =
                DriverQueue.create(name + "-rxq0", rings.asSlice(0, rxBytes), rings.address(), size, features, 0);
        this.txq = DriverQueue.create(
                name + "-txq0",
                rings.asSlice(align(rxBytes), txBytes),
                rings.address() + align(rxBytes),
                size,
                features,
                VirtioNetDriver.indirectMax(features));
        this.heads = new int[size];
        this.written = new long[size];
        GuestMemory memory = new TwoRegions(pool.segment(), rings);
        this.rx = DeviceQueue.at(
                name + "-dev-rx", memory, size, rxq.descAddr(), rxq.availAddr(), rxq.usedAddr(), features, 0);
        this.tx = DeviceQueue.at(
                name + "-dev-tx", memory, size, txq.descAddr(), txq.availAddr(), txq.usedAddr(), features, 0);
        this.rxChain = rx.newChain();
        this.txChain = tx.newChain();
        this.port = new VirtioPciPort(
                name,
                VirtioPciDriver.NAME,
                pool,
                portId,
                0x02_70_6e_00_50_00L | (portId & 0xff),
                rxq,
                txq,
                features,
                pool.segment().address(),
                rings.address() + align(rxBytes) + align(txBytes),
                this);
    }

    private static long align(long v) {
        return (v + 4095) & ~4095L;
    }

    public VirtioPciPort port() {
        return port;
    }

    /** Delivers {@code len} bytes of {@code frame} from {@code off} into the next rx buffer; false if none is posted. */
    public boolean deliver(MemorySegment frame, long off, int len) {
        return deliverSplit(frame, off, len, Math.max(len, 1)); // a zeroed header but for num_buffers 1
    }

    /**
     * With VIRTIO_NET_F_MRG_RXBUF (§5.1.6.4): delivers {@code len} bytes of {@code frame} in as
     * many rx buffers as {@code chunk}-byte pieces it takes (the header and the first piece in
     * the first, {@code num_buffers} saying how many), published together; false (nothing used)
     * if too few are posted.
     */
    public boolean deliverSplit(MemorySegment frame, long off, int len, int chunk) {
        int pieces = Math.max(1, (len + chunk - 1) / chunk);
        int mark = rx.mark();
        for (int k = 0; k < pieces; k++) {
            if (k >= heads.length || !rx.pop(rxChain)) {
                rx.rewind(mark);
                return false;
            }
            int piece = Math.min(chunk, len - k * chunk);
            long w = 0;
            if (k == 0) {
                w = rxChain.copyToWritable(0, zeroHeader, 0, HDR);
                MemorySegment h = rxChain.segment(0);
                h.set(ValueLayout.JAVA_SHORT_UNALIGNED, rxChain.offset(0) + HDR - 2, (short) pieces);
            }
            w += rxChain.copyToWritable(w, frame, off + (long) k * chunk, piece);
            heads[k] = rxChain.head();
            written[k] = w;
        }
        for (int k = 0; k < pieces; k++) {
            rx.pushUsed(heads[k], written[k]);
        }
        rx.publishUsed();
        return true;
    }

    /** Descriptors of the driver's transmit queue not in any chain in flight. */
    public int txFreeDescriptors() {
        return txq.freeDescriptors();
    }

    /**
     * Completes up to {@code max} rx buffers with {@code len}-byte frames without writing them
     * (the benchmark's device: ring work only); returns how many.
     */
    public int completeRx(int max, int len) {
        int n = 0;
        while (n < max && rx.pop(rxChain)) {
            rx.pushUsed(rxChain.head(), HDR + len);
            n++;
        }
        rx.publishUsed();
        return n;
    }

    /**
     * A hostile device: publishes one rx used entry {@code (id, len)} as given, whatever was
     * posted (a PCI device's used ring is as untrusted as a guest's avail ring).
     */
    public void completeRxRaw(int id, long len) {
        rx.pushUsed(id, len);
        rx.publishUsed();
    }

    /** Consumes up to {@code max} transmitted chains without reading them; returns how many. */
    public int completeTx(int max) {
        int n = 0;
        while (n < max && tx.pop(txChain)) {
            tx.pushUsed(txChain.head(), 0);
            n++;
        }
        tx.publishUsed();
        return n;
    }

    /**
     * Moves every transmitted frame into an rx buffer (a loopback, header stripped and a fresh one
     * written); frames finding no rx buffer stay in the tx ring. Returns the frames moved.
     */
    public int loopback() {
        int n = 0;
        while (true) {
            int mark = rx.mark();
            if (!rx.pop(rxChain)) {
                break;
            }
            if (!tx.pop(txChain)) {
                rx.rewind(mark); // nothing to put in that rx buffer: give it back
                break;
            }
            long len = txChain.copyFromReadable(HDR, scratch, 0, scratch.byteSize());
            long w = rxChain.copyToWritable(0, zeroHeader, 0, HDR);
            w += rxChain.copyToWritable(HDR, scratch, 0, len);
            tx.pushUsed(txChain.head(), 0);
            rx.pushUsed(rxChain.head(), w);
            n++;
        }
        tx.publishUsed();
        rx.publishUsed();
        return n;
    }

    /** Sets VIRTQ_USED_F_NO_NOTIFY on both queues (§2.7.10): the port should stop kicking. */
    public void disableKicks() {
        rx.disableKicks();
        tx.disableKicks();
    }

    /** Kicks the port rang on queue {@code q} (0 rx, 1 tx). */
    public long kicks(int q) {
        return kicks[q];
    }

    public boolean stopped() {
        return stopped;
    }

    public boolean released() {
        return released;
    }

    @Override
    public void kick(int q) {
        kicks[q]++;
    }

    @Override
    public LinkStatus link() {
        return LinkStatus.VIRTUAL_UP;
    }

    @Override
    public boolean awaitRxInterrupt(long timeoutMillis) {
        return false;
    }

    @Override
    public void stop() {
        stopped = true;
    }

    @Override
    public void release() {
        released = true;
    }

    /** Closes the port, then frees the ring memory; idempotent. */
    @Override
    public synchronized void close() {
        port.close();
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    /** IOVA = virtual address: the pool's mapping and the ring block. */
    private record TwoRegions(MemorySegment pool, MemorySegment rings) implements GuestMemory {
        @Override
        public int find(long addr, long len) {
            if (addr + len < addr && addr + len != 0) {
                return -1;
            }
            if (inside(pool, addr, len)) {
                return 0;
            }
            return inside(rings, addr, len) ? 1 : -1;
        }

        private static boolean inside(MemorySegment s, long addr, long len) {
            long off = addr - s.address();
            return Long.compareUnsigned(addr, s.address()) >= 0
                    && Long.compareUnsigned(len, s.byteSize()) <= 0
                    && Long.compareUnsigned(off, s.byteSize() - len) <= 0;
        }

        @Override
        public MemorySegment segment(int region) {
            return region == 0 ? pool : rings;
        }

        @Override
        public long offset(int region, long addr) {
            return addr - segment(region).address();
        }
    }
}
