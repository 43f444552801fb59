package dev.panda.pmd.virtio.ring;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.virtio_net_hdr_mrg_rxbuf;
import dev.panda.jextract.uapi.virtio_net_hdr_v1;
import dev.panda.jextract.uapi.vring_avail;
import dev.panda.jextract.uapi.vring_desc;
import dev.panda.jextract.uapi.vring_used;
import dev.panda.jextract.uapi.vring_used_elem;
import java.lang.foreign.Arena;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Layouts against virtio 1.2 §2.7 and §5.1.6, and against the jextract-generated uapi structs. */
class SplitRingLayoutTest {

    /** §2.7 table: sizes 16n, 6 + 2n, 6 + 8n; §2.7.6/§2.7.8: the event fields after ring[n]. */
    @Test
    void sizesAndOffsetsFollowTheSpec() {
        for (int n : new int[] {1, 2, 8, 256, 1024, 32768}) {
            assertEquals(16L * n, SplitRing.descTableBytes(n));
            assertEquals(6 + 2L * n, SplitRing.availRingBytes(n));
            assertEquals(6 + 8L * n, SplitRing.usedRingBytes(n));
            assertEquals(4 + 2L * n, SplitRing.usedEventOffset(n));
            assertEquals(4 + 8L * n, SplitRing.availEventOffset(n));
            assertEquals(0, SplitRing.packedAvailOffset(n) % SplitRing.AVAIL_ALIGN);
            assertEquals(0, SplitRing.packedUsedOffset(n) % SplitRing.USED_ALIGN);
            assertTrue(SplitRing.packedUsedOffset(n) >= SplitRing.packedAvailOffset(n) + 6 + 2L * n);
        }
        assertEquals(16 + 8, SplitRing.packedUsedOffset(1));
        assertEquals(32 + 10 + 2, SplitRing.packedUsedOffset(2), "used ring aligned up to 4");
        assertEquals(16, SplitRing.DESC_BYTES);
        assertOffsets(SplitRing.DESC, 16, "addr", 0, "len", 8, "flags", 12, "next", 14);
        assertOffsets(SplitRing.AVAIL_HEADER, 4, "flags", 0, "idx", 2);
        assertOffsets(SplitRing.USED_HEADER, 4, "flags", 0, "idx", 2);
        assertOffsets(SplitRing.USED_ELEM, 8, "id", 0, "len", 4);
        assertOffsets(SplitRing.availLayout(8), 22, "flags", 0, "idx", 2, "ring", 4, "used_event", 20);
        assertOffsets(SplitRing.usedLayout(8), 70, "flags", 0, "idx", 2, "ring", 4, "avail_event", 68);
        // §5.1.6: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers.
        assertOffsets(
                VirtioNetHeader.LAYOUT,
                12,
                "flags",
                0,
                "gso_type",
                1,
                "hdr_len",
                2,
                "gso_size",
                4,
                "csum_start",
                6,
                "csum_offset",
                8,
                "num_buffers",
                10);
        assertEquals(2, SplitRing.AVAIL_ALIGN);
        assertEquals(4, SplitRing.USED_ALIGN);
        assertEquals(16, SplitRing.DESC_ALIGN);
    }

    /** The same structs as jextract generated them from linux/virtio_ring.h and virtio_net.h. */
    @Test
    void matchesJextractBindings() {
        assertSameFields(vring_desc.layout(), SplitRing.DESC, "addr", "len", "flags", "next");
        assertSameFields(vring_avail.layout(), SplitRing.AVAIL_HEADER, "flags", "idx");
        assertEquals(vring_avail.layout().byteOffset(groupElement("ring")), SplitRing.AVAIL_RING);
        assertSameFields(vring_used.layout(), SplitRing.USED_HEADER, "flags", "idx");
        assertEquals(vring_used.layout().byteOffset(groupElement("ring")), SplitRing.USED_RING);
        assertSameFields(vring_used_elem.layout(), SplitRing.USED_ELEM, "id", "len");
        assertEquals(vring_used_elem.layout().byteSize(), SplitRing.USED_ELEM_BYTES);
        assertSameFields(
                virtio_net_hdr_v1.layout(),
                VirtioNetHeader.LAYOUT,
                "flags",
                "gso_type",
                "hdr_len",
                "gso_size",
                "num_buffers");
        assertEquals(virtio_net_hdr_v1.layout().byteSize(), VirtioNetHeader.BYTES);
        assertEquals(virtio_net_hdr_mrg_rxbuf.layout().byteSize(), VirtioNetHeader.BYTES);
        assertEquals(
                virtio_net_hdr_mrg_rxbuf.layout().byteOffset(groupElement("num_buffers")),
                VirtioNetHeader.LAYOUT.byteOffset(groupElement("num_buffers")));

        assertEquals(Uapi.VRING_DESC_F_NEXT(), SplitRing.DESC_F_NEXT);
        assertEquals(Uapi.VRING_DESC_F_WRITE(), SplitRing.DESC_F_WRITE);
        assertEquals(Uapi.VRING_DESC_F_INDIRECT(), SplitRing.DESC_F_INDIRECT);
        assertEquals(Uapi.VRING_AVAIL_F_NO_INTERRUPT(), SplitRing.AVAIL_F_NO_INTERRUPT);
        assertEquals(Uapi.VRING_USED_F_NO_NOTIFY(), SplitRing.USED_F_NO_NOTIFY);
        assertEquals(Uapi.VRING_DESC_ALIGN_SIZE(), SplitRing.DESC_ALIGN);
        assertEquals(Uapi.VRING_AVAIL_ALIGN_SIZE(), SplitRing.AVAIL_ALIGN);
        assertEquals(Uapi.VRING_USED_ALIGN_SIZE(), SplitRing.USED_ALIGN);
    }

    /** The one feature vocabulary ({@link VirtioFeatures}) is the kernel's bit numbering. */
    @Test
    void featureBitsMatchTheKernelHeaders() {
        assertEquals(Uapi.VIRTIO_NET_F_MAC(), VirtioFeatures.F_MAC);
        assertEquals(Uapi.VIRTIO_NET_F_MRG_RXBUF(), VirtioFeatures.F_MRG_RXBUF);
        assertEquals(Uapi.VIRTIO_NET_F_STATUS(), VirtioFeatures.F_STATUS);
        assertEquals(Uapi.VIRTIO_NET_F_MQ(), VirtioFeatures.F_MQ);
        assertEquals(Uapi.VHOST_F_LOG_ALL(), VirtioFeatures.F_LOG_ALL);
        assertEquals(Uapi.VIRTIO_RING_F_INDIRECT_DESC(), VirtioFeatures.F_INDIRECT_DESC);
        assertEquals(Uapi.VIRTIO_RING_F_EVENT_IDX(), VirtioFeatures.F_EVENT_IDX);
        assertEquals(Uapi.VIRTIO_F_VERSION_1(), VirtioFeatures.F_VERSION_1);
        assertEquals(Uapi.VIRTIO_F_ACCESS_PLATFORM(), VirtioFeatures.F_ACCESS_PLATFORM);
        assertEquals(30, VirtioFeatures.F_PROTOCOL_FEATURES); // vhost-user.rst, not in the uapi headers
        assertTrue(VirtioFeatures.has(VirtioFeatures.bit(33) | 1, 33));
        assertTrue(VirtioFeatures.has(VirtioFeatures.bit(33) | 1, 0));
        assertFalse(VirtioFeatures.has(VirtioFeatures.bit(33), 32));
        assertEquals(1L << 63, VirtioFeatures.bit(63));
    }

    /** §2.7: fields are little-endian whatever the host. */
    @Test
    void fieldsAreLittleEndian() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(32, 16);
            SplitRing.DESC_ADDR.set(s, 0L, 0x0102030405060708L);
            SplitRing.DESC_LEN.set(s, 0L, 0x11223344);
            SplitRing.DESC_FLAGS.set(s, 0L, (short) 0x5566);
            SplitRing.DESC_NEXT.set(s, 0L, (short) 0x7788);
            assertArrayEquals(
                    new byte[] {8, 7, 6, 5, 4, 3, 2, 1, 0x44, 0x33, 0x22, 0x11, 0x66, 0x55, (byte) 0x88, 0x77},
                    s.asSlice(0, 16).toArray(ValueLayout.JAVA_BYTE));
            // An indirect table may sit at any address: descriptors read unaligned.
            SplitRing.DESC_LEN.set(s, 3L, 42);
            assertEquals(42, (int) SplitRing.DESC_LEN.get(s, 3L));
        }
    }

    @Test
    void queueSizeIsAPowerOfTwoUpTo32768() {
        assertTrue(SplitRing.isValidSize(1));
        assertTrue(SplitRing.isValidSize(256));
        assertTrue(SplitRing.isValidSize(32768));
        assertFalse(SplitRing.isValidSize(0));
        assertFalse(SplitRing.isValidSize(3));
        assertFalse(SplitRing.isValidSize(65536));
        assertFalse(SplitRing.isValidSize(-256));
        assertThrows(IllegalArgumentException.class, () -> SplitRing.availLayout(100));
    }

    /**
     * Appendix A {@code virtq_need_event} against the words of §2.7.7.2/§2.7.10.1: notify iff
     * one of the entries old .. new-1 (mod 2^16) was written at index event.
     */
    @Test
    void needEventMatchesTheSpecWording() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int t = 0; t < 2_000_000; t++) {
            int old = rnd.nextInt(65536);
            int batch = t % 3 == 0 ? rnd.nextInt(65536) : rnd.nextInt(300);
            int event = t % 5 == 0 ? (old + rnd.nextInt(-3, 300)) & 0xFFFF : rnd.nextInt(65536);
            int now = (old + batch) & 0xFFFF;
            boolean written = ((event - old) & 0xFFFF) < batch;
            assertEquals(
                    written,
                    SplitRing.needEvent(event, now, old),
                    () -> "event " + event + " old " + old + " new " + now);
        }
        assertTrue(SplitRing.needEvent(0, 1, 0), "§2.7.7.2 note: used_event 0 notifies after the first buffer");
        assertTrue(SplitRing.needEvent(0xFFFF, 0, 0xFFFF), "across the wrap");
        assertFalse(SplitRing.needEvent(5, 5, 5), "nothing written, nothing to notify");
    }

    private static void assertOffsets(GroupLayout layout, long size, Object... nameOffset) {
        assertEquals(size, layout.byteSize(), layout.toString());
        for (int i = 0; i < nameOffset.length; i += 2) {
            String name = (String) nameOffset[i];
            long expected = ((Number) nameOffset[i + 1]).longValue();
            assertEquals(
                    expected,
                    layout.byteOffset(groupElement(name)),
                    layout.name().orElse("?") + "." + name);
        }
    }

    private static void assertSameFields(GroupLayout generated, GroupLayout ours, String... names) {
        for (String name : names) {
            MemoryLayout g = generated.select(groupElement(name));
            MemoryLayout o = ours.select(groupElement(name));
            assertEquals(g.byteSize(), o.byteSize(), name + " size");
            assertEquals(
                    generated.byteOffset(groupElement(name)), ours.byteOffset(groupElement(name)), name + " offset");
        }
        if (generated.memberLayouts().stream().noneMatch(m -> m.byteSize() == 0)) {
            assertEquals(generated.byteSize(), ours.byteSize(), generated.name().orElse("?") + " size");
        }
    }

    /** The walker's one-load read of len, flags and next decodes what the three fields hold. */
    @Test
    void descriptorTailInOneLoadMatchesTheFields() {
        MemorySegment table = Arena.ofAuto().allocate(SplitRing.descTableBytes(256), 16);
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < 10_000; i++) {
            long at = SplitRing.DESC_BYTES * r.nextInt(256);
            long addr = r.nextLong();
            long len = r.nextLong() & 0xFFFF_FFFFL;
            int flags = r.nextInt(1 << 16);
            int next = r.nextInt(1 << 16);
            SplitRing.writeDesc(table, at, addr, len, flags, next);
            long tail = (long) SplitRing.DESC_TAIL.get(table, at + SplitRing.DESC_TAIL_OFFSET);
            assertEquals(len, tail & 0xFFFF_FFFFL);
            assertEquals(flags, (int) (tail >>> 32) & 0xFFFF);
            assertEquals(next, (int) (tail >>> 48));
            assertEquals(addr, (long) SplitRing.DESC_ADDR.get(table, at));
        }
    }
}
