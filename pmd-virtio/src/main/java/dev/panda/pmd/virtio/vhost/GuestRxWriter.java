package dev.panda.pmd.virtio.vhost;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MRG_RXBUF;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.has;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.pmd.virtio.ring.Chain;
import dev.panda.pmd.virtio.ring.DeviceQueue;
import dev.panda.pmd.virtio.ring.VirtioNetHeader;
import java.lang.foreign.MemorySegment;

/**
 * How panda's transmit fills the guest's receive queue (virtio 1.2 §5.1.6.4), chosen once when
 * the vring is published from the negotiated features, so the per-packet loop tests no feature:
 * {@link OneChain} without VIRTIO_NET_F_MRG_RXBUF (one descriptor chain per packet, header and
 * frame), {@link Mergeable} with it (a packet spread over as many chains as it needs, their count
 * in the first header's {@code num_buffers}, §5.1.6.3.1/§5.1.6.4.1). Writes through a
 * {@link DirtyLog}, which is a no-op unless the front-end turned on VHOST_F_LOG_ALL.
 *
 * <p>One per published vring, used by that vring's poller only. After {@link #write} the fields
 * {@link #bytes} and {@link #errors} hold what that call sent and refused.
 */
abstract sealed class GuestRxWriter permits GuestRxWriter.OneChain, GuestRxWriter.Mergeable {

    static final long HDR = VirtioNetHeader.BYTES;

    final DeviceQueue queue;
    final Chain chain;
    final DirtyLog log;
    /** What the last {@link #write} did: packets delivered, their frame bytes, guest buffers refused. */
    int sent;

    long bytes;
    int errors;

    /** Per packet of {@link #writeBatched}'s first pass: the region and offset of its receive buffer. */
    private final int[] region;

    private final long[] offset;
    /** The frame bytes the last {@link #writeBatched} wrote. */
    long batchedBytes;

    GuestRxWriter(DeviceQueue queue, DirtyLog log) {
        this.queue = queue;
        this.chain = queue.newChain();
        this.log = log;
        this.region = new int[queue.size()];
        this.offset = new long[queue.size()];
    }

    /**
     * Writes the packets at the front of {@code h[0 .. n-1]} that each fit, header and frame, in
     * a receive buffer of one descriptor (every packet up to the MTU in Linux's and DPDK's
     * buffers) in two passes: every chain popped and its used entry pushed first, then every
     * header ({@code num_buffers} 1) and frame written in one tight loop. The stores into lines
     * the driver's CPU held last then follow each other and their misses overlap; interleaved
     * with the descriptor walks they came one at a time (DPDK's vhost batches its small copies
     * for the same reason). Stops at the first packet that does not fit so and gives its chain
     * back ({@link DeviceQueue#unpop}) for the caller's general loop. Returns how many packets
     * it wrote; their frame bytes are in {@link #batchedBytes}. Only without dirty logging,
     * which wants each chain as it is written.
     */
    final int writeBatched(PacketPool pool, int[] h, int n) {
        DeviceQueue q = queue;
        Chain c = chain;
        long total = 0;
        int m = 0;
        // at most a ring's worth: a driver that keeps moving avail idx cannot run past the arrays
        while (m < n && m < region.length && q.pop(c)) {
            int len = pool.length(h[m]);
            int w = c.readableCount();
            if (c.count() != w + 1 || c.length(w) < HDR + len) {
                q.unpop();
                break;
            }
            region[m] = c.region(w);
            offset[m] = c.offset(w);
            q.pushUsed(c.head(), HDR + len);
            total += len;
            m++;
        }
        MemorySegment mem = pool.segment();
        for (int i = 0; i < m; i++) {
            MemorySegment g = c.regionSegment(region[i]);
            long at = offset[i];
            int b = h[i];
            Chain.putNetHeader(g, at, 1); // §5.1.6: no offloads, num_buffers 1
            MemorySegment.copy(mem, pool.dataOffset(b), g, at + HDR, pool.length(b));
        }
        batchedBytes = total;
        return m;
    }

    /** The writer the negotiated features call for. */
    static GuestRxWriter of(DeviceQueue queue, long features, DirtyLog log) {
        return has(features, F_MRG_RXBUF) ? new Mergeable(queue, log) : new OneChain(queue, log);
    }

    /**
     * Writes packets {@code h[0 .. n-1]} into the guest's buffers, in order, until the ring runs
     * out of buffers; returns how many packets were consumed (sent or refused, never freed here).
     */
    abstract int write(PacketPool pool, int[] h, int n);

    /** Whether this writer spreads packets over several buffers. */
    abstract boolean mergeable();

    /** Without MRG_RXBUF: one chain per packet, which must hold header and frame (§5.1.6.3.1). */
    static final class OneChain extends GuestRxWriter {
        OneChain(DeviceQueue queue, DirtyLog log) {
            super(queue, log);
        }

        @Override
        int write(PacketPool pool, int[] h, int n) {
            DeviceQueue q = queue;
            Chain c = chain;
            MemorySegment mem = pool.segment();
            int k = log == DirtyLog.OFF ? writeBatched(pool, h, n) : 0;
            long total = k > 0 ? batchedBytes : 0;
            int refused = 0;
            while (k < n && q.pop(c)) {
                int b = h[k++];
                int len = pool.length(b);
                if (c.writableBytes() < HDR + len) {
                    // a receive buffer smaller than the packet (the driver must size them, §5.1.6.3.1)
                    refused++;
                    q.pushUsed(c.head(), 0);
                    continue;
                }
                c.putNetHeader(1); // §5.1.6.4: num_buffers 1 without MRG_RXBUF
                c.copyToWritable(HDR, mem, pool.dataOffset(b), len);
                log.written(c, HDR + len);
                q.pushUsed(c.head(), HDR + len);
                total += len;
            }
            sent = k - refused;
            bytes = total;
            errors = refused;
            return k;
        }

        @Override
        boolean mergeable() {
            return false;
        }
    }

    /**
     * With MRG_RXBUF: the header goes into the first chain, the frame fills that chain and then as
     * many more as it needs; each chain's used length is what was written into it, and the first
     * header's num_buffers counts them (§5.1.6.4). When the ring runs out in the middle of a packet
     * the chains popped for it are given back ({@link DeviceQueue#rewind}) and the packet stays
     * with the caller, so the driver never sees a partial packet.
     */
    static final class Mergeable extends GuestRxWriter {
        private final Chain more;

        Mergeable(DeviceQueue queue, DirtyLog log) {
            super(queue, log);
            this.more = queue.newChain();
        }

        @Override
        int write(PacketPool pool, int[] h, int n) {
            DeviceQueue q = queue;
            Chain first = chain;
            Chain next = more;
            MemorySegment mem = pool.segment();
            int k = log == DirtyLog.OFF ? writeBatched(pool, h, n) : 0;
            long total = k > 0 ? batchedBytes : 0;
            int refused = 0;
            while (k < n) {
                int mark = q.mark();
                if (!q.pop(first)) {
                    break;
                }
                if (first.writableBytes() < HDR) {
                    // §5.1.6.3.1: with MRG_RXBUF every buffer holds at least a header; return this
                    // one unused and try the next for the same packet
                    refused++;
                    q.pushUsed(first.head(), 0);
                    continue;
                }
                int b = h[k];
                int len = pool.length(b);
                long src = pool.dataOffset(b);
                long w = Math.min(first.writableBytes() - HDR, len);
                first.copyToWritable(HDR, mem, src, w);
                q.pushUsed(first.head(), HDR + w);
                long done = w;
                int buffers = 1;
                int returned = q.returnedChains();
                while (done < len && q.pop(next)) {
                    if (q.returnedChains() != returned) {
                        break;
                    }
                    long m = Math.min(next.writableBytes(), len - done);
                    next.copyToWritable(0, mem, src + done, m);
                    log.written(next, m);
                    q.pushUsed(next.head(), m);
                    done += m;
                    buffers++;
                }
                if (q.returnedChains() != returned) {
                    // pop gave a malformed chain back (len 0) among this packet's buffers, which
                    // num_buffers cannot describe: undo the packet, return its first chain unused
                    // and start again after it, where the bad chain falls between packets
                    q.rewind(mark);
                    q.pop(first);
                    q.pushUsed(first.head(), 0);
                    refused++;
                    continue;
                }
                if (done < len) {
                    q.rewind(mark); // nothing of this packet published: it waits for more buffers
                    break;
                }
                first.putNetHeader(buffers);
                log.written(first, HDR + w);
                total += len;
                k++;
            }
            sent = k;
            bytes = total;
            errors = refused;
            return k;
        }

        @Override
        boolean mergeable() {
            return true;
        }
    }
}
