package dev.panda.pmd.virtio.ring;

import static dev.panda.pmd.virtio.ring.SplitRing.DESC_ADDR;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_BYTES;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_FLAGS;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_LEN;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_NEXT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * The walker's per-queue region cache: a queue whose buffers stay in one region asks the region
 * table once, a buffer elsewhere asks again, and an address outside every region is refused even
 * right after a hit.
 */
class RegionCacheTest {

    private static final long A = 0x10_0000;
    private static final long B = 0x80_0000;

    /** Counts the region-table lookups of the memory it wraps. */
    private static final class Counting implements GuestMemory {
        final GuestMemory inner;
        int finds;

        Counting(GuestMemory inner) {
            this.inner = inner;
        }

        @Override
        public int find(long addr, long len) {
            finds++;
            return inner.find(addr, len);
        }

        @Override
        public MemorySegment segment(int region) {
            return inner.segment(region);
        }

        @Override
        public long offset(int region, long addr) {
            return inner.offset(region, addr);
        }
    }

    @Test
    void buffersInOneRegionAskTheTableOnce() {
        try (Arena arena = Arena.ofConfined()) {
            Counting mem = new Counting(new MultiRegionMemory(
                    new long[] {A, B},
                    new MemorySegment[] {arena.allocate(0x10000, 4096), arena.allocate(0x10000, 4096)}));
            MemorySegment table = arena.allocate(DESC_BYTES * 8, 16);
            RingErrors errors = new RingErrors("cache");
            DescriptorWalker walker = new DescriptorWalker(mem, table, 8, errors);
            Chain chain = new Chain(mem, 8);

            for (int i = 0; i < 100; i++) {
                desc(table, 0, B + 64L * (i % 512), 64);
                assertTrue(walker.walk(0, chain));
                assertEquals(1, chain.region(0));
            }
            assertEquals(1, mem.finds, "one table lookup for 100 buffers in the same region");

            desc(table, 1, A + 0x100, 64);
            assertTrue(walker.walk(1, chain));
            assertEquals(0, chain.region(0));
            assertEquals(2, mem.finds, "a buffer in another region asks the table");

            // right after a hit in A: past A's end, in the gap, and straddling A's end are refused
            desc(table, 2, A + 0x10000, 1);
            assertFalse(walker.walk(2, chain));
            desc(table, 3, A + 0xFFF0, 0x20);
            assertFalse(walker.walk(3, chain));
            desc(table, 4, A - 1, 2);
            assertFalse(walker.walk(4, chain));
            assertEquals(3, errors.count(RingErrors.Kind.BAD_ADDRESS));

            desc(table, 5, A + 0xFFF0, 0x10);
            assertTrue(walker.walk(5, chain), "the last bytes of A are still A's");
            assertEquals(0, chain.region(0));
        }
    }

    private static void desc(MemorySegment table, int i, long addr, int len) {
        long at = i * DESC_BYTES;
        DESC_ADDR.set(table, at, addr);
        DESC_LEN.set(table, at, len);
        DESC_FLAGS.set(table, at, (short) 0);
        DESC_NEXT.set(table, at, (short) 0);
    }
}
