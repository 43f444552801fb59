package dev.panda.pmd.virtio.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class GuestMemoryTest {

    @Test
    void singleRegionFindsOnlyWhatItHolds() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4096);
            SingleRegionMemory m = new SingleRegionMemory(seg, 0x10000);
            assertEquals(0, m.find(0x10000, 4096));
            assertEquals(0, m.find(0x10FFF, 1));
            assertEquals(0, m.find(0x10FFF, 0), "zero length: the region holding addr");
            assertEquals(0, m.find(0x10800, 2048));
            assertEquals(-1, m.find(0x10800, 2049), "runs past the end");
            assertEquals(-1, m.find(0x11000, 0), "first byte after the region");
            assertEquals(-1, m.find(0xFFFF, 2), "starts before the region");
            assertEquals(-1, m.find(0, 0x20000), "covers the region and more");
            assertEquals(-1, m.find(0x10800, -1L), "len as u64 is huge");
            assertEquals(-1, m.find(-16, 32), "addr + len wraps");
            assertEquals(-1, m.find(0x10010, 0xFFFF_FFFF_FFFF_FFF8L), "addr + len wraps into the region");
            assertEquals(0x123, m.offset(0, 0x10123));
            assertSame(seg, m.segment(0));
            assertThrows(IndexOutOfBoundsException.class, () -> m.segment(1));
            assertEquals(0x10040, m.address(0x40));
        }
    }

    @Test
    void regionsAtTheTopOfTheAddressSpace() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4096);
            SingleRegionMemory top = new SingleRegionMemory(seg, -4096L);
            assertEquals(0, top.find(-4096L, 4096), "ends exactly at 2^64");
            assertEquals(0, top.find(-1L, 1));
            assertEquals(-1, top.find(-1L, 2));
            assertEquals(-1, top.find(0, 1));
            assertThrows(IllegalArgumentException.class, () -> new SingleRegionMemory(seg, -4095L));
            SingleRegionMemory nat = SingleRegionMemory.ofNative(seg);
            assertEquals(0, nat.find(seg.address() + 10, 10));
            assertThrows(
                    IllegalArgumentException.class,
                    () -> SingleRegionMemory.ofNative(MemorySegment.ofArray(new byte[8])));
        }
    }

    @Test
    void testMemoryWithGaps() {
        try (Arena arena = Arena.ofConfined()) {
            MultiRegionMemory m = new MultiRegionMemory(
                    new long[] {0x1000, 0x3000}, new MemorySegment[] {arena.allocate(0x1000), arena.allocate(0x100)});
            assertEquals(0, m.find(0x1FF0, 0x10));
            assertEquals(-1, m.find(0x1FF0, 0x11), "straddles into the gap");
            assertEquals(-1, m.find(0x2000, 1), "in the gap");
            assertEquals(1, m.find(0x3000, 0x100));
            assertEquals(-1, m.find(0x3000, 0x101));
        }
    }
}
