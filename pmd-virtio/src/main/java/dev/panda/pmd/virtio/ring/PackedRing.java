package dev.panda.pmd.virtio.ring;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The packed virtqueue format of virtio 1.2 §2.8 ({@link VirtioFeatures#F_RING_PACKED}): one
 * descriptor ring the driver and the device both write, plus two 4-byte event suppression areas
 * (the driver's in the Driver Area, the device's in the Device Area). Layouts, flag bits, sizes,
 * alignment and the wrap-counter arithmetic shared by the device and driver sides, as
 * {@link SplitRing} is for the split format.
 *
 * <p>A descriptor is available when its AVAIL flag equals the driver's wrap counter and its USED
 * flag does not (§2.8.1); used when both equal the device's wrap counter. Each side keeps one
 * index (0 .. size-1) and one wrap counter per direction, the counter starting at 1 and flipping
 * each time its index wraps. Unlike the split format, the queue size need not be a power of 2.
 */
public final class PackedRing {

    /** §2.8.6 (as §2.7.5): the buffer continues in the next descriptor of the ring. */
    public static final int DESC_F_NEXT = 1;
    /** §2.8.6: the buffer is device write-only. */
    public static final int DESC_F_WRITE = 2;
    /** §2.8.7: the buffer holds a table of descriptors. */
    public static final int DESC_F_INDIRECT = 4;
    /** §2.8.1: VIRTQ_DESC_F_AVAIL, bit 7 of the flags. */
    public static final int DESC_F_AVAIL = 1 << 7;
    /** §2.8.1: VIRTQ_DESC_F_USED, bit 15 of the flags. */
    public static final int DESC_F_USED = 1 << 15;

    /** §2.8.10: RING_EVENT_FLAGS_ENABLE, notify on every event. */
    public static final int EVENT_FLAGS_ENABLE = 0;
    /** §2.8.10: RING_EVENT_FLAGS_DISABLE, no notifications. */
    public static final int EVENT_FLAGS_DISABLE = 1;
    /** §2.8.10: RING_EVENT_FLAGS_DESC, notify when the descriptor at {@code off_wrap} is passed (EVENT_IDX). */
    public static final int EVENT_FLAGS_DESC = 2;

    /** §2.8: at most 32768 descriptors (the offset field of {@code off_wrap} has 15 bits). */
    public static final int MAX_QUEUE_SIZE = 32768;
    /** §2.8 table: alignment of the descriptor ring. */
    public static final int DESC_ALIGN = 16;
    /** §2.8 table: alignment of the driver and device event suppression areas. */
    public static final int EVENT_ALIGN = 4;

    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * §2.8.13 {@code struct pvirtq_desc}, 16 bytes. Unaligned layouts as {@link SplitRing#DESC}:
     * indirect tables come with no alignment promise.
     */
    public static final StructLayout DESC = MemoryLayout.structLayout(
                    ValueLayout.JAVA_LONG_UNALIGNED
                            .withOrder(ByteOrder.LITTLE_ENDIAN)
                            .withName("addr"),
                    ValueLayout.JAVA_INT_UNALIGNED
                            .withOrder(ByteOrder.LITTLE_ENDIAN)
                            .withName("len"),
                    ValueLayout.JAVA_SHORT_UNALIGNED
                            .withOrder(ByteOrder.LITTLE_ENDIAN)
                            .withName("id"),
                    ValueLayout.JAVA_SHORT_UNALIGNED
                            .withOrder(ByteOrder.LITTLE_ENDIAN)
                            .withName("flags"))
            .withName("pvirtq_desc");

    /** §2.8.13 {@code struct pvirtq_event_suppress}: {@code off_wrap} (15-bit offset, wrap bit 15), {@code flags}. */
    public static final StructLayout EVENT = MemoryLayout.structLayout(U16.withName("off_wrap"), U16.withName("flags"))
            .withName("pvirtq_event_suppress");

    public static final long DESC_BYTES = DESC.byteSize();
    public static final long EVENT_BYTES = EVENT.byteSize();

    /** Offsets inside a descriptor, for code that reads with plain accessors. */
    public static final long DESC_ADDR_OFFSET = DESC.byteOffset(groupElement("addr"));

    public static final long DESC_LEN_OFFSET = DESC.byteOffset(groupElement("len"));
    public static final long DESC_ID_OFFSET = DESC.byteOffset(groupElement("id"));
    public static final long DESC_FLAGS_OFFSET = DESC.byteOffset(groupElement("flags"));
    public static final long EVENT_OFF_WRAP_OFFSET = EVENT.byteOffset(groupElement("off_wrap"));
    public static final long EVENT_FLAGS_OFFSET = EVENT.byteOffset(groupElement("flags"));

    // Coordinates (MemorySegment segment, long base) with base at the start of the struct.
    static final VarHandle DESC_ADDR = DESC.varHandle(groupElement("addr"));
    static final VarHandle DESC_LEN = DESC.varHandle(groupElement("len"));
    static final VarHandle DESC_ID = DESC.varHandle(groupElement("id"));
    static final VarHandle DESC_FLAGS = DESC.varHandle(groupElement("flags"));
    static final VarHandle EVENT_OFF_WRAP = EVENT.varHandle(groupElement("off_wrap"));
    static final VarHandle EVENT_FLAGS = EVENT.varHandle(groupElement("flags"));

    private PackedRing() {}

    /** §2.8 table: 16 * Queue Size. */
    public static long descRingBytes(int size) {
        return DESC_BYTES * checkSize(size);
    }

    /** Where the driver event suppression area starts when the three parts share one block from 0. */
    public static long blockDriverEventOffset(int size) {
        return SplitRing.align(descRingBytes(size), EVENT_ALIGN);
    }

    /** Where the device event suppression area starts in that block. */
    public static long blockDeviceEventOffset(int size) {
        return blockDriverEventOffset(size) + EVENT_BYTES;
    }

    /** Bytes of the block holding the descriptor ring and both event suppression areas. */
    public static long blockBytes(int size) {
        return blockDeviceEventOffset(size) + EVENT_BYTES;
    }

    /** Whether {@code size} is a valid packed Queue Size (§2.8: 1 to 32768, any value). */
    public static boolean isValidSize(int size) {
        return size > 0 && size <= MAX_QUEUE_SIZE;
    }

    static int checkSize(int size) {
        if (!isValidSize(size)) {
            throw new IllegalArgumentException(
                    "queue size " + size + " is not between 1 and " + MAX_QUEUE_SIZE + " (virtio 1.2 §2.8)");
        }
        return size;
    }

    /** The AVAIL and USED bits a side writes with wrap counter {@code wrap} to mark a descriptor available. */
    public static int availFlags(boolean wrap) {
        return wrap ? DESC_F_AVAIL : DESC_F_USED;
    }

    /** The AVAIL and USED bits the device writes with its wrap counter {@code wrap} to mark a descriptor used. */
    public static int usedFlags(boolean wrap) {
        return wrap ? DESC_F_AVAIL | DESC_F_USED : 0;
    }

    /** §2.8.1: whether {@code flags} mark an available descriptor for a reader whose wrap counter is {@code wrap}. */
    public static boolean isAvail(int flags, boolean wrap) {
        boolean avail = (flags & DESC_F_AVAIL) != 0;
        boolean used = (flags & DESC_F_USED) != 0;
        return avail == wrap && used != wrap;
    }

    /** §2.8.1: whether {@code flags} mark a used descriptor for a reader whose wrap counter is {@code wrap}. */
    public static boolean isUsed(int flags, boolean wrap) {
        boolean avail = (flags & DESC_F_AVAIL) != 0;
        boolean used = (flags & DESC_F_USED) != 0;
        return avail == used && used == wrap;
    }

    /**
     * An index and wrap counter as one 16-bit value, offset in bits 0-14 and the counter in bit 15:
     * the {@code off_wrap} of §2.8.10, and the ring state vhost (and vhost-user's
     * {@code VRING_BASE}) carries for a packed queue.
     */
    public static int offWrap(int index, boolean wrap) {
        return (index & 0x7FFF) | (wrap ? 0x8000 : 0);
    }

    public static int offset(int offWrap) {
        return offWrap & 0x7FFF;
    }

    public static boolean wrap(int offWrap) {
        return (offWrap & 0x8000) != 0;
    }

    /**
     * §2.8.10 with EVENT_IDX: whether moving from {@code oldIdx} to {@code newIdx} (indices counted
     * without wrapping, mod 2<sup>16</sup>, as the Linux and DPDK drivers keep them) passed the
     * event index {@code eventIdx} the other side asked for. {@code eventIdx} is already translated
     * to the writer's count ({@code off} minus the size when its wrap bit differs from the writer's).
     */
    public static boolean needEvent(int eventIdx, int newIdx, int oldIdx) {
        return SplitRing.needEvent(eventIdx, newIdx, oldIdx);
    }
}
