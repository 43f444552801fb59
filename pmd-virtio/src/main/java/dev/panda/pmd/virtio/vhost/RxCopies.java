package dev.panda.pmd.virtio.vhost;

import dev.panda.dataplane.port.PacketBurst;
import dev.panda.pmd.virtio.ring.Chain;
import dev.panda.pmd.virtio.ring.VirtioNetHeader;
import java.lang.foreign.MemorySegment;

/**
 * A device receive burst's frame copies, made after its walks ({@code VirtioDevicePort}'s split and
 * packed receive): per chain of one descriptor, the guest region and offset of its frame, its
 * offset in the pool and its length, so that the loads from lines the driver's CPU wrote last
 * follow each other in one loop and their misses overlap. One per device-receive vring, used by its
 * poller only; the index of the next free entry is the caller's local.
 */
final class RxCopies {

    private static final long HDR = VirtioNetHeader.BYTES;

    private final int[] region;
    private final long[] from;
    private final long[] to;
    private final long[] length;

    /** For a vring of {@code queueSize} entries: a burst takes at most min(Queue Size, MAX_BURST) chains. */
    RxCopies(int queueSize) {
        int batch = Math.min(queueSize, PacketBurst.MAX_BURST);
        this.region = new int[batch];
        this.from = new long[batch];
        this.to = new long[batch];
        this.length = new long[batch];
    }

    /**
     * Takes the frame of chain {@code c} ({@code frame} bytes after its virtio-net header) for pool
     * offset {@code at}: a chain of one descriptor (as Linux and DPDK send) is queued at entry
     * {@code k} and {@code k + 1} returned; any other is copied now and {@code k} returned.
     */
    int take(Chain c, int k, MemorySegment pool, long at, long frame) {
        if (c.readableCount() == 1) {
            region[k] = c.region(0);
            from[k] = c.offset(0) + HDR;
            to[k] = at;
            length[k] = frame;
            return k + 1;
        }
        c.copyFromReadable(HDR, pool, at, frame);
        return k;
    }

    /** Copies the first {@code k} queued frames into {@code pool} (guest regions through {@code c}). */
    void copy(Chain c, int k, MemorySegment pool) {
        for (int i = 0; i < k; i++) {
            MemorySegment.copy(c.regionSegment(region[i]), from[i], pool, to[i], length[i]);
        }
    }
}
