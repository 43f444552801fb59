package dev.panda.pmd.virtio.ring;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The split virtqueue format of virtio 1.2 §2.7: layouts, flag bits, sizes, alignment and the
 * event-index arithmetic, shared by {@link DeviceQueue} and {@link DriverQueue}.
 *
 * <p>All fields are little-endian (§2.7.3 says only legacy interfaces use guest-native order).
 * Descriptor fields are read with unaligned layouts, because indirect tables (§2.7.5.3) come from
 * the driver with no alignment promise; the ring headers and used elements use aligned layouts,
 * which acquire/release access needs, and the queues check the §2.7.1 alignment at set-up.
 */
public final class SplitRing {

    /** §2.7.5: the buffer continues via {@code next}. */
    public static final int DESC_F_NEXT = 1;
    /** §2.7.5: the buffer is device write-only (otherwise device read-only). */
    public static final int DESC_F_WRITE = 2;
    /** §2.7.5.3: the buffer holds a table of descriptors. */
    public static final int DESC_F_INDIRECT = 4;
    /** §2.7.7: in {@code avail.flags}, the driver needs no used buffer notification. */
    public static final int AVAIL_F_NO_INTERRUPT = 1;
    /** §2.7.10: in {@code used.flags}, the device needs no available buffer notification. */
    public static final int USED_F_NO_NOTIFY = 1;

    /** §2.7: Queue Size is a power of 2, at most 32768. */
    public static final int MAX_QUEUE_SIZE = 32768;
    /** §2.7 table: minimum alignment of the descriptor table, available ring and used ring. */
    public static final int DESC_ALIGN = 16;

    public static final int AVAIL_ALIGN = 2;
    public static final int USED_ALIGN = 4;

    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** §2.7.5 {@code struct virtq_desc}, 16 bytes, byte-aligned (see the class comment). */
    public static final StructLayout DESC = MemoryLayout.structLayout(
                    ValueLayout.JAVA_LONG_UNALIGNED
                            .withOrder(ByteOrder.LITTLE_ENDIAN)
                            .withName("addr"),
                    ValueLayout.JAVA_INT_UNALIGNED
                            .withOrder(ByteOrder.LITTLE_ENDIAN)
                            .withName("len"),
                    ValueLayout.JAVA_SHORT_UNALIGNED
                            .withOrder(ByteOrder.LITTLE_ENDIAN)
                            .withName("flags"),
                    ValueLayout.JAVA_SHORT_UNALIGNED
                            .withOrder(ByteOrder.LITTLE_ENDIAN)
                            .withName("next"))
            .withName("virtq_desc");

    /** §2.7.6 {@code struct virtq_avail} up to its ring. */
    public static final StructLayout AVAIL_HEADER = MemoryLayout.structLayout(
                    U16.withName("flags"), U16.withName("idx"))
            .withName("virtq_avail");

    /** §2.7.8 {@code struct virtq_used} up to its ring. */
    public static final StructLayout USED_HEADER = MemoryLayout.structLayout(U16.withName("flags"), U16.withName("idx"))
            .withName("virtq_used");

    /** §2.7.8 {@code struct virtq_used_elem}. */
    public static final StructLayout USED_ELEM =
            MemoryLayout.structLayout(U32.withName("id"), U32.withName("len")).withName("virtq_used_elem");

    public static final long DESC_BYTES = DESC.byteSize();
    /** Offset of {@code ring[0]} in the available ring (and of the used ring's {@code ring[0]}). */
    static final long AVAIL_RING = AVAIL_HEADER.byteSize();

    static final long USED_RING = USED_HEADER.byteSize();
    static final long USED_ELEM_BYTES = USED_ELEM.byteSize();

    // Coordinates (MemorySegment segment, long base) with base at the start of the struct.
    static final VarHandle DESC_ADDR = DESC.varHandle(groupElement("addr"));
    static final VarHandle DESC_LEN = DESC.varHandle(groupElement("len"));
    static final VarHandle DESC_FLAGS = DESC.varHandle(groupElement("flags"));
    static final VarHandle DESC_NEXT = DESC.varHandle(groupElement("next"));
    /**
     * {@code len}, {@code flags} and {@code next} in one little-endian load at offset 8 of a
     * descriptor: {@code len} in bits 0-31, {@code flags} 32-47, {@code next} 48-63.
     */
    static final long DESC_TAIL_OFFSET = 8;

    static final VarHandle DESC_TAIL =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    static final VarHandle AVAIL_FLAGS = AVAIL_HEADER.varHandle(groupElement("flags"));
    static final VarHandle AVAIL_IDX = AVAIL_HEADER.varHandle(groupElement("idx"));
    static final VarHandle USED_FLAGS = USED_HEADER.varHandle(groupElement("flags"));
    static final VarHandle USED_IDX = USED_HEADER.varHandle(groupElement("idx"));
    static final VarHandle USED_ELEM_ID = USED_ELEM.varHandle(groupElement("id"));
    static final VarHandle USED_ELEM_LEN = USED_ELEM.varHandle(groupElement("len"));
    /** One le16 at an offset: {@code avail.ring[i]}, {@code used_event}, {@code avail_event}. */
    static final VarHandle U16_AT = U16.varHandle();

    private SplitRing() {}

    /** §2.7.6 the whole available ring for {@code size} entries, {@code used_event} included. */
    public static StructLayout availLayout(int size) {
        return MemoryLayout.structLayout(
                        U16.withName("flags"),
                        U16.withName("idx"),
                        MemoryLayout.sequenceLayout(checkSize(size), U16).withName("ring"),
                        U16.withName("used_event"))
                .withName("virtq_avail");
    }

    /** §2.7.8 the whole used ring for {@code size} entries, {@code avail_event} included. */
    public static StructLayout usedLayout(int size) {
        return MemoryLayout.structLayout(
                        U16.withName("flags"),
                        U16.withName("idx"),
                        MemoryLayout.sequenceLayout(checkSize(size), USED_ELEM).withName("ring"),
                        U16.withName("avail_event"))
                .withName("virtq_used");
    }

    /** §2.7 table: 16 * Queue Size. */
    public static long descTableBytes(int size) {
        return DESC_BYTES * checkSize(size);
    }

    /** §2.7 table: 6 + 2 * Queue Size. */
    public static long availRingBytes(int size) {
        return availLayout(size).byteSize();
    }

    /** §2.7 table: 6 + 8 * Queue Size. */
    public static long usedRingBytes(int size) {
        return usedLayout(size).byteSize();
    }

    /** Offset of {@code used_event} in the available ring (§2.7.6, after {@code ring[size]}). */
    public static long usedEventOffset(int size) {
        return availLayout(size).byteOffset(groupElement("used_event"));
    }

    /** Offset of {@code avail_event} in the used ring (§2.7.8, after {@code ring[size]}). */
    public static long availEventOffset(int size) {
        return usedLayout(size).byteOffset(groupElement("avail_event"));
    }

    /** Where the available ring starts when the three parts are packed in one block from offset 0. */
    public static long packedAvailOffset(int size) {
        return descTableBytes(size);
    }

    /** Where the used ring starts in that block: after the available ring, aligned to 4. */
    public static long packedUsedOffset(int size) {
        return align(packedAvailOffset(size) + availRingBytes(size), USED_ALIGN);
    }

    /** Bytes of the block holding all three parts of a {@code size}-entry queue. */
    public static long packedBytes(int size) {
        return packedUsedOffset(size) + usedRingBytes(size);
    }

    /** Whether {@code size} is a valid split Queue Size (§2.7: a power of 2 up to 32768). */
    public static boolean isValidSize(int size) {
        return size > 0 && size <= MAX_QUEUE_SIZE && Integer.bitCount(size) == 1;
    }

    static int checkSize(int size) {
        if (!isValidSize(size)) {
            throw new IllegalArgumentException("queue size " + size + " is not a power of 2 between 1 and "
                    + MAX_QUEUE_SIZE + " (virtio 1.2 §2.7)");
        }
        return size;
    }

    static long align(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }

    /**
     * §2.7.7 / §2.7.10 and Appendix A's {@code virtq_need_event}: whether moving an index from
     * {@code oldIdx} to {@code newIdx} passed {@code eventIdx}, that is, whether one of the entries
     * {@code oldIdx .. newIdx - 1} (mod 2<sup>16</sup>) was written at index {@code eventIdx}.
     */
    public static boolean needEvent(int eventIdx, int newIdx, int oldIdx) {
        return ((newIdx - eventIdx - 1) & 0xFFFF) < ((newIdx - oldIdx) & 0xFFFF);
    }

    /** Writes one §2.7.5 descriptor at {@code at} in {@code table}. */
    static void writeDesc(MemorySegment table, long at, long addr, long len, int flags, int next) {
        DESC_ADDR.set(table, at, addr);
        DESC_LEN.set(table, at, (int) len);
        DESC_FLAGS.set(table, at, (short) flags);
        DESC_NEXT.set(table, at, (short) next);
    }
}
