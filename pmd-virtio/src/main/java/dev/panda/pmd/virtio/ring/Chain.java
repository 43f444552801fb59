package dev.panda.pmd.virtio.ring;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * One descriptor chain as the device found it, already validated and translated: up to Queue
 * Size segments, each a (region, offset, length) inside {@link GuestMemory}, device-readable ones
 * first (§2.7.4.2), then device-writable ones. Preallocated by {@link DeviceQueue#newChain()} and
 * refilled by every {@link DeviceQueue#pop(Chain)}; nothing here allocates.
 *
 * <p>The bytes behind the segments stay shared with the driver, which may still change them: copy
 * what you read once, and never trust a value read twice to be the same.
 */
public final class Chain {

    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final GuestMemory memory;
    private final int[] region;
    private final long[] offset;
    private final long[] length;
    private int head = -1;
    /** Packed rings only: descriptor-ring slots the chain took (its used descriptor skips as many). */
    private int ringSlots;

    private int count;
    private int readable;
    private long readableBytes;
    private long writableBytes;

    Chain(GuestMemory memory, int capacity) {
        this.memory = memory;
        this.region = new int[capacity];
        this.offset = new long[capacity];
        this.length = new long[capacity];
    }

    void reset(int newHead) {
        head = newHead;
        count = 0;
        readable = 0;
        readableBytes = 0;
        writableBytes = 0;
    }

    /** Packed rings: the buffer id comes with the chain's last descriptor, and its slot count. */
    void finishPacked(int id, int slots) {
        head = id;
        ringSlots = slots;
    }

    /** Descriptor-ring slots a packed chain took (1 for an indirect one); 0 for a split chain. */
    public int ringSlots() {
        return ringSlots;
    }

    boolean full() {
        return count == region.length;
    }

    /** Appends a segment; the walker has checked bounds and the readable-then-writable order. */
    void add(int r, long off, long len, boolean writable) {
        region[count] = r;
        offset[count] = off;
        length[count] = len;
        count++;
        if (writable) {
            writableBytes += len;
        } else {
            readable++;
            readableBytes += len;
        }
    }

    /** The head descriptor index (split) or the buffer id (packed), the {@code id} to return as used. */
    public int head() {
        return head;
    }

    /** Segments in the chain (zero-length buffers are not segments). */
    public int count() {
        return count;
    }

    /** Segments {@code 0 .. readableCount() - 1} are device-readable. */
    public int readableCount() {
        return readable;
    }

    /** Segments {@code readableCount() .. count() - 1} are device-writable. */
    public int writableCount() {
        return count - readable;
    }

    public boolean writable(int i) {
        return i >= readable;
    }

    public int region(int i) {
        return region[i];
    }

    /** Offset of segment {@code i} inside {@link #segment(int)}. */
    public long offset(int i) {
        return offset[i];
    }

    public long length(int i) {
        return length[i];
    }

    /** The mapping segment {@code i} lies in (the whole region; use {@link #offset(int)}). */
    public MemorySegment segment(int i) {
        return memory.segment(region[i]);
    }

    /**
     * The mapping of region {@code r}, as {@link #region(int)} numbers them: for a write into a
     * buffer of this chain made after the chain was refilled by the next pop.
     */
    public MemorySegment regionSegment(int r) {
        return memory.segment(r);
    }

    public long readableBytes() {
        return readableBytes;
    }

    public long writableBytes() {
        return writableBytes;
    }

    /**
     * Gathers up to {@code max} device-readable bytes, after skipping {@code skip} of them (a
     * virtio-net header, say), into {@code dst} at {@code dstOffset}. Returns the bytes copied.
     */
    public long copyFromReadable(long skip, MemorySegment dst, long dstOffset, long max) {
        if (readable == 1 && skip < length[0] && max > 0) {
            // header and frame in one descriptor, as Linux and DPDK send them: one copy
            long n = Math.min(length[0] - skip, max);
            MemorySegment.copy(memory.segment(region[0]), offset[0] + skip, dst, dstOffset, n);
            return n;
        }
        long copied = 0;
        for (int i = 0; i < readable && copied < max; i++) {
            long len = length[i];
            if (skip >= len) {
                skip -= len;
                continue;
            }
            long n = Math.min(len - skip, max - copied);
            MemorySegment.copy(memory.segment(region[i]), offset[i] + skip, dst, dstOffset + copied, n);
            copied += n;
            skip = 0;
        }
        return copied;
    }

    /**
     * Scatters up to {@code len} bytes of {@code src} from {@code srcOffset} into the
     * device-writable segments, starting {@code skip} bytes into them. Returns the bytes copied
     * (less than {@code len} if the writable segments are too short).
     */
    public long copyToWritable(long skip, MemorySegment src, long srcOffset, long len) {
        int w = readable;
        if (w == count - 1 && skip < length[w] && len > 0) {
            // one receive buffer, as Linux and DPDK post them: one copy
            long n = Math.min(length[w] - skip, len);
            MemorySegment.copy(src, srcOffset, memory.segment(region[w]), offset[w] + skip, n);
            return n;
        }
        long copied = 0;
        for (int i = readable; i < count && copied < len; i++) {
            long segLen = length[i];
            if (skip >= segLen) {
                skip -= segLen;
                continue;
            }
            long n = Math.min(segLen - skip, len - copied);
            MemorySegment.copy(src, srcOffset + copied, memory.segment(region[i]), offset[i] + skip, n);
            copied += n;
            skip = 0;
        }
        return copied;
    }

    /**
     * Writes a virtio-net header (§5.1.6) with no offloads and {@code numBuffers} as its
     * {@code num_buffers} at the start of the device-writable segments: one 8-byte and one 4-byte
     * store when the first writable segment holds all 12 bytes (every driver's receive buffers
     * do), byte by byte across segments otherwise. Returns false, having written nothing, if the
     * writable segments hold fewer than 12 bytes.
     */
    public boolean putNetHeader(int numBuffers) {
        int w = readable;
        if (w < count && length[w] >= VirtioNetHeader.BYTES) {
            putNetHeader(memory.segment(region[w]), offset[w], numBuffers);
            return true;
        }
        if (writableBytes < VirtioNetHeader.BYTES) {
            return false;
        }
        int b = 0;
        for (int i = w; i < count && b < VirtioNetHeader.BYTES; i++) {
            for (long j = 0; j < length[i] && b < VirtioNetHeader.BYTES; j++, b++) {
                byte v = b == 10 ? (byte) numBuffers : b == 11 ? (byte) (numBuffers >>> 8) : 0;
                memory.segment(region[i]).set(ValueLayout.JAVA_BYTE, offset[i] + j, v);
            }
        }
        return true;
    }

    /**
     * The header of {@link #putNetHeader(int)} at {@code at} in {@code m}, which holds all 12
     * bytes there: one 8-byte and one 4-byte store.
     */
    public static void putNetHeader(MemorySegment m, long at, int numBuffers) {
        // flags, gso_type, hdr_len, gso_size, csum_start: 0; csum_offset 0, num_buffers (LE)
        m.set(LE64, at, 0L);
        m.set(LE32, at + 8, numBuffers << 16);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Chain[head=")
                .append(head)
                .append(", ")
                .append(readable)
                .append(" readable/")
                .append(count - readable)
                .append(" writable:");
        for (int i = 0; i < count; i++) {
            sb.append(' ')
                    .append(i < readable ? 'r' : 'w')
                    .append(region[i])
                    .append('@')
                    .append(offset[i])
                    .append('+')
                    .append(length[i]);
        }
        return sb.append(']').toString();
    }
}
