package dev.panda.pmd.virtio.vhost;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MRG_RXBUF;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.has;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.pmd.virtio.ring.Chain;
import dev.panda.pmd.virtio.ring.PackedDeviceQueue;
import dev.panda.pmd.virtio.ring.VirtioNetHeader;
import java.lang.foreign.MemorySegment;

/**
 * {@link GuestRxWriter}'s job on a packed ring ({@link PackedDeviceQueue}): the same two ways of
 * filling the guest's receive queue (one chain per packet, or mergeable buffers with
 * {@code num_buffers}), in classes of their own so that the split writers' call sites see only
 * split queues. Chosen once when the vring is published.
 */
abstract sealed class PackedRxWriter permits PackedRxWriter.OneChain, PackedRxWriter.Mergeable {

    static final long HDR = VirtioNetHeader.BYTES;

    final PackedDeviceQueue queue;
    final Chain chain;
    final DirtyLog log;
    /** What the last {@link #write} did: packets delivered, their frame bytes, guest buffers refused. */
    int sent;

    long bytes;
    int errors;

    PackedRxWriter(PackedDeviceQueue queue, DirtyLog log) {
        this.queue = queue;
        this.chain = queue.newChain();
        this.log = log;
    }

    static PackedRxWriter of(PackedDeviceQueue queue, long features, DirtyLog log) {
        return has(features, F_MRG_RXBUF) ? new Mergeable(queue, log) : new OneChain(queue, log);
    }

    /** As {@link GuestRxWriter#write}. */
    abstract int write(PacketPool pool, int[] h, int n);

    /** Without MRG_RXBUF: one chain per packet, which must hold header and frame (§5.1.6.3.1). */
    static final class OneChain extends PackedRxWriter {
        OneChain(PackedDeviceQueue queue, DirtyLog log) {
            super(queue, log);
        }

        @Override
        int write(PacketPool pool, int[] h, int n) {
            PackedDeviceQueue q = queue;
            Chain c = chain;
            MemorySegment mem = pool.segment();
            long total = 0;
            int refused = 0;
            int k = 0;
            while (k < n && q.pop(c)) {
                int b = h[k++];
                int len = pool.length(b);
                if (c.writableBytes() < HDR + len) {
                    refused++;
                    q.pushUsed(c, 0);
                    continue;
                }
                c.putNetHeader(1); // §5.1.6.4: num_buffers 1 without MRG_RXBUF
                c.copyToWritable(HDR, mem, pool.dataOffset(b), len);
                log.written(c, HDR + len);
                q.pushUsed(c, HDR + len);
                total += len;
            }
            sent = k - refused;
            bytes = total;
            errors = refused;
            return k;
        }
    }

    /** With MRG_RXBUF: as {@link GuestRxWriter.Mergeable}, on the packed queue. */
    static final class Mergeable extends PackedRxWriter {
        private final Chain more;

        Mergeable(PackedDeviceQueue queue, DirtyLog log) {
            super(queue, log);
            this.more = queue.newChain();
        }

        @Override
        int write(PacketPool pool, int[] h, int n) {
            PackedDeviceQueue q = queue;
            Chain first = chain;
            Chain next = more;
            MemorySegment mem = pool.segment();
            long total = 0;
            int refused = 0;
            int k = 0;
            while (k < n) {
                long mark = q.mark();
                if (!q.pop(first)) {
                    break;
                }
                if (first.writableBytes() < HDR) {
                    refused++;
                    q.pushUsed(first, 0);
                    continue;
                }
                int b = h[k];
                int len = pool.length(b);
                long src = pool.dataOffset(b);
                long w = Math.min(first.writableBytes() - HDR, len);
                first.copyToWritable(HDR, mem, src, w);
                q.pushUsed(first, HDR + w);
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
                    q.pushUsed(next, m);
                    done += m;
                    buffers++;
                }
                if (q.returnedChains() != returned) {
                    // a malformed chain came back among this packet's buffers: undo the packet,
                    // return its first chain unused and start again after it
                    q.rewind(mark);
                    q.pop(first);
                    q.pushUsed(first, 0);
                    refused++;
                    continue;
                }
                if (done < len) {
                    q.rewind(mark);
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
    }
}
