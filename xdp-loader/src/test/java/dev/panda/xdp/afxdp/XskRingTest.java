package dev.panda.xdp.afxdp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The ring's cached-index arithmetic on a plain memory segment laid out as the kernel maps a ring
 * (producer, consumer and flags on their own cache lines, then the entries), with this test
 * playing the kernel's side: free-running u32 indices across 2^32, the opposite index re-read only
 * when the cached view runs out, one acquire/release per burst. Needs no root.
 */
class XskRingTest {

    private static final long PROD = 0;
    private static final long CONS = 64;
    private static final long FLAGS = 128;
    private static final long DESC = 192;
    private static final int SIZE = 16;

    private static MemorySegment ring(Arena a, int entryBytes) {
        return a.allocate(DESC + (long) SIZE * entryBytes, 64);
    }

    private static void setU32(MemorySegment m, long off, long v) {
        m.set(ValueLayout.JAVA_INT, off, (int) v);
    }

    private static long u32(MemorySegment m, long off) {
        return Integer.toUnsignedLong(m.get(ValueLayout.JAVA_INT, off));
    }

    @Test
    void consumerSideWrapsAt2To32AndRereadsTheProducerOnlyWhenEmpty() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = ring(a, 16);
            long start = 0xFFFF_FFF8L; // 8 entries before the u32 wraps
            setU32(m, PROD, start);
            setU32(m, CONS, start);
            XskRing rx = new XskRing(m, PROD, CONS, FLAGS, DESC, SIZE, 16, false);
            assertEquals(0, rx.available(64));

            // the "kernel" publishes 12 descriptors: indices 0xFFFFFFF8 .. 0x00000003
            for (int i = 0; i < 12; i++) {
                long slot = DESC + ((start + i) & (SIZE - 1)) * 16;
                m.set(ValueLayout.JAVA_LONG, slot, 1000L + i);
                m.set(ValueLayout.JAVA_INT, slot + 8, 60 + i);
            }
            setU32(m, PROD, start + 12); // 0x00000004 after the wrap
            assertEquals(12, rx.available(64), "entries across the wrap");
            assertEquals(5, rx.available(5), "a burst smaller than what is ready");
            for (int i = 0; i < 12; i++) {
                assertEquals(1000L + i, rx.descAddr(i));
                assertEquals(60 + i, rx.descLen(i));
                assertEquals(1000L + i, rx.addrAtOffset(rx.descOffset(i)));
                assertEquals(60 + i, rx.lenAt(rx.descOffset(i)));
            }

            // more arrive while cached entries remain: not looked at until the cache runs out
            setU32(m, PROD, start + 14);
            rx.release(7);
            assertEquals(start + 7 & 0xFFFF_FFFFL, u32(m, CONS), "consumer published with the release");
            assertEquals(5, rx.available(64), "the cached producer still says 5 left");
            assertEquals(1007L, rx.descAddr(0));
            rx.release(5);
            assertEquals(4L, u32(m, CONS), "consumer index wrapped to 4");
            assertEquals(2, rx.available(64), "cache empty: the producer is re-read");
            rx.release(2);
            assertEquals(0, rx.available(64));
            assertEquals(6L, u32(m, CONS));
            assertEquals(0, rx.pendingForConsumer());
        }
    }

    @Test
    void producerSideWrapsAt2To32AndRereadsTheConsumerOnlyWhenShort() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = ring(a, 8);
            long start = 0xFFFF_FFFCL; // 4 before the wrap
            setU32(m, PROD, start);
            setU32(m, CONS, start);
            XskRing fill = new XskRing(m, PROD, CONS, FLAGS, DESC, SIZE, 8, true);
            assertEquals(SIZE, fill.free(64), "an empty ring has all its slots free");
            for (int i = 0; i < SIZE; i++) {
                fill.putAddr(i, 5000L + i);
            }
            fill.submit(SIZE);
            assertEquals(start + SIZE & 0xFFFF_FFFFL, u32(m, PROD), "producer published across the wrap");
            for (int i = 0; i < SIZE; i++) {
                assertEquals(5000L + i, m.get(ValueLayout.JAVA_LONG, DESC + ((start + i) & (SIZE - 1)) * 8));
            }
            assertEquals(0, fill.free(1), "full: the consumer is re-read and still says full");

            // the "kernel" consumes 5 (consumer crosses the wrap)
            setU32(m, CONS, start + 5);
            assertEquals(3, fill.free(3));
            assertEquals(5, fill.free(8), "at most what the kernel gave back");
            fill.putAddr(0, 7);
            fill.submit(1);
            assertEquals(4, fill.free(4), "served from the cached consumer");
            setU32(m, CONS, start + SIZE); // it consumed everything
            assertEquals(4, fill.free(4), "enough cached: the consumer is not re-read");
            assertEquals(SIZE - 1, fill.free(64), "short: re-read, one slot still holds our entry");
        }
    }

    @Test
    void theInverseDividesLikeTheDivideForEveryPoolOffset() {
        for (long stride : new long[] {2176, 2048, 4096, 9216, 3, 65536 + 128}) {
            long inv = AfXdpPort.strideInverse(stride);
            // every buffer start, the byte before and after it, of a 1 Mi-buffer region
            for (long h = 0; h < 1 << 20; h++) {
                long base = h * stride;
                assertEquals(h, AfXdpPort.divide(base, inv), "stride " + stride + " at buffer " + h);
                assertEquals(h, AfXdpPort.divide(base + stride - 1, inv), "stride " + stride + " end of " + h);
            }
            SplittableRandom r = new SplittableRandom(stride);
            long limit = (1L << 48) - 1; // UNALIGNED_ADDR_MASK: the largest base the kernel reports
            for (int i = 0; i < 1_000_000; i++) {
                long x = r.nextLong(limit + 1);
                if (x < Long.divideUnsigned(-1L, stride)) { // the bound strideInverse documents
                    assertEquals(x / stride, AfXdpPort.divide(x, inv), "stride " + stride + ", x " + x);
                }
            }
        }
    }
}
