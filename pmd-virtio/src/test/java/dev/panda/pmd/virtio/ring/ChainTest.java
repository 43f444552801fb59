package dev.panda.pmd.virtio.ring;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** {@link Chain#putNetHeader}: the virtio-net header the device writes into a guest's receive buffer. */
class ChainTest {

    /** What every byte holds before the test writes: a written byte shows. */
    private static final byte UNTOUCHED = 0x5a;

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

    /** A chain over {@code m} alone (region 0), after filling {@code m} with {@link #UNTOUCHED}. */
    private static Chain chainOver(MemorySegment m) {
        m.fill(UNTOUCHED);
        Chain c = new Chain(new MultiRegionMemory(new long[] {0}, new MemorySegment[] {m}), 4);
        c.reset(0);
        return c;
    }

    private static void assertUntouched(MemorySegment m, long off, int n, String why) {
        byte[] fill = new byte[n];
        Arrays.fill(fill, UNTOUCHED);
        assertArrayEquals(fill, bytes(m, off, n), why);
    }

    @Test
    void aHeaderInTheFirstWritableSegmentOverwritesWhatWasThere() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(256);
            Chain c = chainOver(m);
            c.add(0, 0, 32, false); // a device-readable segment first: left alone
            c.add(0, 65, 100, true); // odd offset: the stores are unaligned
            assertTrue(c.putNetHeader(0x0102));
            assertArrayEquals(header(0x0102), bytes(m, 65, 12));
            assertUntouched(m, 77, 1, "nothing past the header");
            assertUntouched(m, 64, 1, "nothing before it");
            assertUntouched(m, 0, 32, "the readable segment is not written");
        }
    }

    @Test
    void aHeaderSpreadOverShortSegmentsIsWrittenAcrossThem() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(256);
            Chain c = chainOver(m);
            c.add(0, 10, 3, true);
            c.add(0, 100, 4, true);
            c.add(0, 200, 40, true);
            assertTrue(c.putNetHeader(7));
            byte[] got = new byte[12];
            MemorySegment.copy(m, ValueLayout.JAVA_BYTE, 10, got, 0, 3);
            MemorySegment.copy(m, ValueLayout.JAVA_BYTE, 100, got, 3, 4);
            MemorySegment.copy(m, ValueLayout.JAVA_BYTE, 200, got, 7, 5);
            assertArrayEquals(header(7), got);
            assertUntouched(m, 205, 1, "the frame's first byte is not touched");
        }
    }

    @Test
    void fewerThanTwelveWritableBytesTakeNoHeader() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(64);
            Chain c = chainOver(m);
            c.add(0, 0, 5, true);
            c.add(0, 20, 6, true);
            assertFalse(c.putNetHeader(1));
            assertUntouched(m, 0, 64, "nothing written");
        }
    }
}
