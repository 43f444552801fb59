package dev.panda.dataplane.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.jextract.Posix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PacketPoolTest {

    private static PacketPool small(int n) {
        return PacketPool.create(PoolConfig.defaults().withCount(n).withHugepages(PoolConfig.Hugepages.OFF));
    }

    @Test
    void allocatesDistinctBuffersUntilEmptyAndTakesThemBack() {
        try (PacketPool pool = small(100)) {
            int[] h = new int[128];
            assertEquals(100, pool.allocBulk(h, 0, 128), "bulk alloc returns what is left");
            Set<Integer> distinct = new HashSet<>();
            for (int i = 0; i < 100; i++) {
                assertTrue(distinct.add(h[i]));
                assertTrue(pool.inUse(h[i]));
                assertEquals(0, pool.length(h[i]));
            }
            assertEquals(0, pool.available());
            assertEquals(-1, pool.alloc());
            assertEquals(0, pool.allocBulk(h, 0, 1));
            pool.freeBulk(h, 0, 100);
            assertEquals(100, pool.available());
            assertEquals(0, pool.doubleFrees());
        }
    }

    @Test
    void everyAllocationOfABufferIsCounted() {
        try (PacketPool pool = small(4)) {
            int[] h = new int[4];
            assertEquals(4, pool.allocBulk(h, 0, 4));
            for (int x : h) {
                assertEquals(1, pool.allocations(x));
            }
            pool.free(h[3]);
            assertEquals(1, pool.allocations(h[3]), "freeing is not an allocation");
            assertEquals(h[3], pool.alloc());
            assertEquals(2, pool.allocations(h[3]));
            pool.free(h[3]);
            pool.free(h[3]); // a double free is not one either
            assertEquals(2, pool.allocations(h[3]));
            pool.freeBulk(h, 0, 3);
            assertEquals(5, IntStream.range(0, 4).map(pool::allocations).sum());
            assertEquals(3, pool.allocBulk(h, 0, 3));
            assertEquals(8, IntStream.range(0, 4).map(pool::allocations).sum(), "three more allocations");
        }
    }

    @Test
    void doubleFreeIsCountedAndDoesNotCorruptTheFreeList() {
        try (PacketPool pool = small(8)) {
            int h = pool.alloc();
            pool.free(h);
            pool.free(h);
            assertEquals(1, pool.doubleFrees());
            assertEquals(8, pool.available(), "the buffer is on the free list once");
            assertThrows(IllegalArgumentException.class, () -> pool.free(8));
            assertThrows(IllegalArgumentException.class, () -> pool.free(-1));
        }
    }

    @Test
    void buffersDoNotOverlapAndRespectHeadroom() {
        try (PacketPool pool = small(64)) {
            int a = pool.alloc();
            int b = pool.alloc();
            assertEquals(pool.bufferOffset(a) + pool.headroom(), pool.dataOffset(a));
            assertTrue(Math.abs(pool.bufferOffset(a) - pool.bufferOffset(b)) >= pool.headroom() + pool.dataRoom());
            assertEquals(0, pool.bufferOffset(a) % 64, "cache-line aligned");
            pool.setLength(a, pool.dataRoom());
            assertThrows(
                    IllegalArgumentException.class, () -> pool.setLength(a, pool.dataRoom() + pool.headroom() + 1));
            pool.adjust(a, -14); // prepend a header into the headroom
            assertEquals(pool.dataRoom() + 14, pool.length(a));
            assertEquals(pool.bufferOffset(a) + pool.headroom() - 14, pool.dataOffset(a));
            assertThrows(IllegalArgumentException.class, () -> pool.adjust(a, -pool.headroom()));
            pool.setPort(b, 513);
            pool.setHash(b, 0xdeadbeef);
            assertEquals(513, pool.port(b));
            assertEquals(0xdeadbeef, pool.hash(b));
        }
    }

    @Test
    void receivedSetsLengthAndPortAndSaysWhereTheDataGoes() {
        try (PacketPool pool = small(8)) {
            int a = pool.alloc();
            assertEquals(pool.dataOffset(a), pool.received(a, 60, 0xffff));
            assertEquals(60, pool.length(a));
            assertEquals(0xffff, pool.port(a));
            assertTrue(pool.inUse(a), "the buffer's state is kept");
            pool.adjust(a, -4);
            assertEquals(pool.bufferOffset(a) + pool.headroom() - 4, pool.received(a, 10, 3));
            assertEquals(3, pool.port(a));
            assertThrows(
                    IllegalArgumentException.class, () -> pool.received(a, pool.dataRoom() + pool.headroom() + 1, 1));
            assertThrows(IllegalArgumentException.class, () -> pool.received(a, -1, 1));
            assertEquals(10, pool.length(a), "a refused length changes nothing");
            pool.free(a);
            assertEquals(0, pool.doubleFrees());
        }
    }

    @Test
    void regionIsSharedThroughTheMemfd() {
        try (PacketPool pool = small(16)) {
            int h = pool.alloc();
            pool.segment().set(ValueLayout.JAVA_LONG, pool.dataOffset(h), 0x1122334455667788L);
            // a second mapping of the same fd, as a peer process would make, sees the bytes
            MemorySegment peer = Posix.mmap(pool.regionBytes(), Posix.PROT_READ, Posix.MAP_SHARED, pool.fd(), 0);
            try {
                assertEquals(0x1122334455667788L, peer.get(ValueLayout.JAVA_LONG, pool.dataOffset(h)));
            } finally {
                Posix.munmap(peer);
            }
        }
    }

    @Test
    void hugepagePolicyFallsBackOrFailsClearly() {
        try (PacketPool pool = PacketPool.create(PoolConfig.defaults().withCount(1024))) {
            // AUTO: hugetlb if the machine has free hugepages, 4 KiB pages otherwise; works either way
            assertEquals(1024, pool.available());
            assertEquals(0, pool.regionBytes() % (pool.hugepages() ? 2 << 20 : 4096));
        }
        try (PacketPool pool = small(8)) {
            assertFalse(pool.hugepages());
        }
    }

    @Test
    void configRejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> new PoolConfig(0, 128, 2048, PoolConfig.Hugepages.OFF));
        assertThrows(IllegalArgumentException.class, () -> new PoolConfig(8, -1, 2048, PoolConfig.Hugepages.OFF));
        assertThrows(IllegalArgumentException.class, () -> new PoolConfig(8, 128, 10, PoolConfig.Hugepages.OFF));
        assertEquals(2176, PoolConfig.defaults().stride());
    }

    @Test
    void concurrentAllocAndFreeLoseNothing() throws Exception {
        try (PacketPool pool = small(2048)) {
            Thread[] threads = new Thread[2];
            for (int t = 0; t < threads.length; t++) {
                threads[t] = Thread.ofPlatform().start(() -> {
                    int[] h = new int[32];
                    for (int i = 0; i < 100_000; i++) {
                        int n = pool.allocBulk(h, 0, 32);
                        pool.freeBulk(h, 0, n);
                    }
                });
            }
            for (Thread t : threads) {
                t.join();
            }
            assertEquals(2048, pool.available());
            assertEquals(0, pool.doubleFrees());
        }
    }
}
