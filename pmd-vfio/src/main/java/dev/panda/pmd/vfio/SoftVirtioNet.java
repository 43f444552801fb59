package dev.panda.pmd.vfio;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.pmd.virtio.ring.Chain;
import dev.panda.pmd.virtio.ring.DeviceQueue;
import dev.panda.pmd.virtio.ring.DriverQueue;
import dev.panda.pmd.virtio.ring.GuestMemory;
import dev.panda.pmd.virtio.ring.VirtioNetHeader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

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
    private final Chain rxChain;
    private final Chain txChain;
    private final long[] kicks = new long[2];
    private final MemorySegment zeroHeader = arena.allocate(HDR, 8);
    private final MemorySegment scratch = arena.allocate(65536, 64);
    private boolean stopped;
    private boolean released;

    /** Opens a port named {@code name} on {@code pool} with queues of {@code size}, attached to this device. */
    public SoftVirtioNet(String name, PacketPool pool, int portId, int size) {
        long qbytes = DriverQueue.bytes(size, 0);
        MemorySegment rings = arena.allocate(2 * align(qbytes) + 4096, 4096);
        DriverQueue rxq = DriverQueue.create(name + "-rxq0", rings.asSlice(0, qbytes), rings.address(), size, 0, 0);
        DriverQueue txq = DriverQueue.create(
                name + "-txq0", rings.asSlice(align(qbytes), qbytes), rings.address() + align(qbytes), size, 0, 0);
        GuestMemory memory = new TwoRegions(pool.segment(), rings);
        this.rx = DeviceQueue.at(name + "-dev-rx", memory, size, rxq.descAddr(), rxq.availAddr(), rxq.usedAddr(), 0, 0);
        this.tx = DeviceQueue.at(name + "-dev-tx", memory, size, txq.descAddr(), txq.availAddr(), txq.usedAddr(), 0, 0);
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
                0,
                pool.segment().address(),
                rings.address() + 2 * align(qbytes),
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
        if (!rx.pop(rxChain)) {
            return false;
        }
        // §5.1.6.4: a zeroed header (num_buffers is 1 without MRG_RXBUF: any value is fine then)
        long w = rxChain.copyToWritable(0, zeroHeader, 0, HDR);
        w += rxChain.copyToWritable(HDR, frame, off, len);
        rx.pushUsed(rxChain.head(), w);
        rx.publishUsed();
        return true;
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
