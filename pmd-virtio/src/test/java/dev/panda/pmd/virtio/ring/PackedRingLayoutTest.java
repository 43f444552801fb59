package dev.panda.pmd.virtio.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** virtio 1.2 §2.8's sizes, offsets and wrap-counter rules as {@link PackedRing} states them. */
class PackedRingLayoutTest {

    @Test
    void layoutsHaveTheSpecsSizesAndOffsets() {
        assertEquals(16, PackedRing.DESC_BYTES);
        assertEquals(0, PackedRing.DESC_ADDR_OFFSET);
        assertEquals(8, PackedRing.DESC_LEN_OFFSET);
        assertEquals(12, PackedRing.DESC_ID_OFFSET);
        assertEquals(14, PackedRing.DESC_FLAGS_OFFSET);
        assertEquals(4, PackedRing.EVENT_BYTES);
        assertEquals(0, PackedRing.EVENT_OFF_WRAP_OFFSET);
        assertEquals(2, PackedRing.EVENT_FLAGS_OFFSET);
        assertEquals(256 * 16, PackedRing.descRingBytes(256));
        assertEquals(3 * 16, PackedRing.blockDriverEventOffset(3));
        assertEquals(3 * 16 + 8, PackedRing.blockBytes(3));
        assertEquals(34, VirtioFeatures.F_RING_PACKED);
        assertEquals(35, VirtioFeatures.F_IN_ORDER);
    }

    @Test
    void sizesNeedNotBePowersOfTwoButAreBounded() {
        assertTrue(PackedRing.isValidSize(3));
        assertTrue(PackedRing.isValidSize(32768));
        assertFalse(PackedRing.isValidSize(0));
        assertFalse(PackedRing.isValidSize(32769));
        assertThrows(IllegalArgumentException.class, () -> PackedRing.descRingBytes(32769));
    }

    @Test
    void availAndUsedFollowTheWrapCounters() {
        // the driver's first lap (wrap 1): AVAIL=1, USED=0; the device marks it used with AVAIL=USED=1
        int avail1 = PackedRing.availFlags(true);
        assertTrue(PackedRing.isAvail(avail1, true));
        assertFalse(PackedRing.isAvail(avail1, false));
        assertFalse(PackedRing.isUsed(avail1, true));
        int used1 = PackedRing.usedFlags(true);
        assertTrue(PackedRing.isUsed(used1, true));
        assertFalse(PackedRing.isAvail(used1, true));
        // second lap (wrap 0): AVAIL=0, USED=1; used as AVAIL=USED=0; zeroed memory is neither on lap 1
        int avail0 = PackedRing.availFlags(false);
        assertTrue(PackedRing.isAvail(avail0, false));
        assertFalse(PackedRing.isUsed(avail0, false));
        assertTrue(PackedRing.isUsed(PackedRing.usedFlags(false), false));
        assertFalse(PackedRing.isAvail(0, true));
        assertFalse(PackedRing.isUsed(0, true));
        // flags other than AVAIL/USED do not matter
        assertTrue(PackedRing.isAvail(avail1 | PackedRing.DESC_F_WRITE | PackedRing.DESC_F_NEXT, true));
    }

    @Test
    void offWrapPacksFifteenBitsAndTheCounter() {
        assertEquals(0x8005, PackedRing.offWrap(5, true));
        assertEquals(5, PackedRing.offWrap(5, false));
        assertEquals(5, PackedRing.offset(0x8005));
        assertTrue(PackedRing.wrap(0x8005));
        assertFalse(PackedRing.wrap(0x7FFF));
    }
}
