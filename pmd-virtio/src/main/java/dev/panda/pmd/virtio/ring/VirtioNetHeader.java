package dev.panda.pmd.virtio.ring;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * virtio 1.2 §5.1.6 {@code struct virtio_net_hdr}, the header in front of every packet on a
 * virtio-net queue, as a VIRTIO_F_VERSION_1 device and driver use it: 12 bytes, little-endian,
 * {@code num_buffers} always present (§5.1.6.1: only legacy drivers omit it without
 * VIRTIO_NET_F_MRG_RXBUF). Without VIRTIO_NET_F_HASH_REPORT nothing follows.
 *
 * <p>{@code num_buffers} (§5.1.6.3.2, §5.1.6.4) is the number of used buffers one received packet
 * spans: always 1 without VIRTIO_NET_F_MRG_RXBUF; with it, the device writes the header in the
 * first buffer only and pops more chains until the packet fits ({@link DeviceQueue#mark()} and
 * {@link DeviceQueue#rewind(int)} undo the pops when it does not).
 */
public final class VirtioNetHeader {

    /** §5.1.6: flags. */
    public static final int F_NEEDS_CSUM = 1;

    public static final int F_DATA_VALID = 2;
    /** §5.1.6: gso_type for a packet that needs no segmentation. */
    public static final int GSO_NONE = 0;

    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The header, byte-aligned: it sits wherever the buffer starts. */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
                    ValueLayout.JAVA_BYTE.withName("flags"),
                    ValueLayout.JAVA_BYTE.withName("gso_type"),
                    LE16.withName("hdr_len"),
                    LE16.withName("gso_size"),
                    LE16.withName("csum_start"),
                    LE16.withName("csum_offset"),
                    LE16.withName("num_buffers"))
            .withName("virtio_net_hdr");

    /** 12: what precedes the frame in the first buffer of a packet. */
    public static final long BYTES = LAYOUT.byteSize();

    // Coordinates (MemorySegment segment, long base).
    public static final VarHandle FLAGS = LAYOUT.varHandle(groupElement("flags"));
    public static final VarHandle GSO_TYPE = LAYOUT.varHandle(groupElement("gso_type"));
    public static final VarHandle HDR_LEN = LAYOUT.varHandle(groupElement("hdr_len"));
    public static final VarHandle GSO_SIZE = LAYOUT.varHandle(groupElement("gso_size"));
    public static final VarHandle CSUM_START = LAYOUT.varHandle(groupElement("csum_start"));
    public static final VarHandle CSUM_OFFSET = LAYOUT.varHandle(groupElement("csum_offset"));
    public static final VarHandle NUM_BUFFERS = LAYOUT.varHandle(groupElement("num_buffers"));

    /** The {@code num_buffers} of the header at {@code offset} in {@code s} (§5.1.6.4), unsigned. */
    public static int numBuffers(MemorySegment s, long offset) {
        return (short) NUM_BUFFERS.get(s, offset) & 0xFFFF;
    }

    private VirtioNetHeader() {}
}
