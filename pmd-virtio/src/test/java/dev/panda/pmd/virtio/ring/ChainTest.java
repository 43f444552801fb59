package dev.panda.pmd.virtio.ring;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** {@link Chain#putNetHeader}: the virtio-net header the device writes into a guest's receive buffer. */
class ChainTest {

    /** §5.1.6: 12 bytes, all zero but num_buffers (bytes 10-11, little-endian). */
    private static byte[] header(int numBuffers) {
        byte[] h = new byte[12];
        h[10] = (byte) numBuffers;
        h[11] = (byte) (numBuffers >>> 8);
        return h;
    }

    private static byte[] bytes(MemorySegment s, long off, int n) {
        return s.asSlice(off, n).toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void aHeaderInTheFirstWritableSegmentOverwritesWhatWasThere() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(256);
            m.fill((byte) 0x5a);
            Chain c = new Chain(new MultiRegionMemory(new long[] {0}, new MemorySegment[] {m}), 4);
            c.reset(3);
            c.add(0, 0, 32, false); // a device-readable segment first: left alone
            c.add(0, 65, 100, true); // odd offset: the stores are unaligned
            assertTrue(c.putNetHeader(0x0102));
            assertArrayEquals(header(0x0102), bytes(m, 65, 12));
            assertArrayEquals(bytes(m, 77, 1), new byte[] {0x5a}, "nothing past the header");
            assertArrayEquals(bytes(m, 64, 1), new byte[] {0x5a}, "nothing before it");
            for (byte b : bytes(m, 0, 32)) {
                assertTrue(b == 0x5a, "the readable segment is not written");
            }
        }
    }

    @Test
    void aHeaderSpreadOverShortSegmentsIsWrittenAcrossThem() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(256);
            m.fill((byte) 0x5a);
            Chain c = new Chain(new MultiRegionMemory(new long[] {0}, new MemorySegment[] {m}), 4);
            c.reset(0);
            c.add(0, 10, 3, true);
            c.add(0, 100, 4, true);
            c.add(0, 200, 40, true);
            assertTrue(c.putNetHeader(7));
            byte[] got = new byte[12];
            MemorySegment.copy(m, ValueLayout.JAVA_BYTE, 10, got, 0, 3);
            MemorySegment.copy(m, ValueLayout.JAVA_BYTE, 100, got, 3, 4);
            MemorySegment.copy(m, ValueLayout.JAVA_BYTE, 200, got, 7, 5);
            assertArrayEquals(header(7), got);
            assertArrayEquals(new byte[] {0x5a}, bytes(m, 205, 1), "the frame's first byte is not touched");
        }
    }

    @Test
    void fewerThanTwelveWritableBytesTakeNoHeader() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(64);
            m.fill((byte) 0x5a);
            Chain c = new Chain(new MultiRegionMemory(new long[] {0}, new MemorySegment[] {m}), 4);
            c.reset(0);
            c.add(0, 0, 5, true);
            c.add(0, 20, 6, true);
            assertFalse(c.putNetHeader(1));
            for (byte b : bytes(m, 0, 64)) {
                assertTrue(b == 0x5a, "nothing written");
            }
        }
    }
}
