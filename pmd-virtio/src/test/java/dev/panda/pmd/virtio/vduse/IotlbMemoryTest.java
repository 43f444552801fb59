package dev.panda.pmd.virtio.vduse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.util.List;
import org.junit.jupiter.api.Test;

/** IOVA ranges as bounds-checked segments: inclusive ends, no wrap-around, no straddling. */
class IotlbMemoryTest {

    @Test
    void findsOnlyWhatOneRangeHoldsWhole() {
        try (Arena a = Arena.ofConfined()) {
            IotlbMemory m = new IotlbMemory(List.of(
                    new IotlbMemory.Range(0, 0xffff, a.allocate(0x10000), true),
                    new IotlbMemory.Range(0x10000, 0x10fff, a.allocate(0x1000), true),
                    new IotlbMemory.Range(0xffff_ffff_ffff_f000L, -1L, a.allocate(0x1000), false)));
            assertEquals(0, m.find(0, 0x10000));
            assertEquals(-1, m.find(0xff00, 0x200)); // straddles two ranges
            assertEquals(1, m.find(0x10000, 0x1000));
            assertEquals(-1, m.find(0x10000, 0x1001));
            assertEquals(-1, m.find(0x20000, 1));
            assertEquals(2, m.find(-16L, 16));
            assertEquals(-1, m.find(-16L, 17)); // wraps past 2^64
            assertEquals(1, m.find(0x10fff, 0));
            assertEquals(0x10, m.offset(1, 0x10010));
            assertEquals(0x1000, m.segment(1).byteSize());
            assertEquals(0x12000, m.bytes());
            assertThrows(
                    IllegalArgumentException.class,
                    () -> new IotlbMemory.Range(0x1000, 0x1fff, a.allocate(0x800), true));
            assertThrows(
                    IllegalArgumentException.class, () -> new IotlbMemory.Range(0x2000, 0x1fff, a.allocate(1), true));
        }
    }
}
