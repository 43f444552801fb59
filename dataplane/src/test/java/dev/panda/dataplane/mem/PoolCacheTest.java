package dev.panda.dataplane.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The per-poller caches in front of a pool (PoolCacheThread). */
class PoolCacheTest {

    private static PacketPool pool(int n) {
        return PacketPool.create(PoolConfig.defaults().withCount(n).withHugepages(PoolConfig.Hugepages.OFF));
    }

    /** Runs {@code task} on a caching thread and rethrows what it threw. */
    private static void onPoller(Runnable task) throws Exception {
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread t = new PoolCacheThread("test-poller", () -> {
            try {
                task.run();
            } catch (Throwable e) {
                failed.set(e);
            }
        });
        t.start();
        t.join();
        if (failed.get() instanceof Error e) {
            throw e;
        }
        if (failed.get() != null) {
            throw new AssertionError(failed.get());
        }
    }

    @Test
    void aPollerKeepsBuffersInItsCacheAndGivesThemBackWhenItEnds() throws Exception {
        try (PacketPool p = pool(4096)) {
            assertEquals(256, p.cacheSize());
            onPoller(() -> {
                int[] h = new int[32];
                assertEquals(32, p.allocBulk(h, 0, 32));
                // a refill took a cache's worth from the shared stack; available counts the cache
                assertEquals(4096 - 32, p.available());
                BitSet seen = new BitSet();
                for (int x : h) {
                    assertTrue(p.inUse(x));
                    assertEquals(p.headroom(), p.dataOffset(x) - p.bufferOffset(x));
                    assertFalse(seen.get(x), "handed out twice: " + x);
                    seen.set(x);
                }
                p.freeBulk(h, 0, 32);
                for (int x : h) {
                    assertFalse(p.inUse(x));
                }
                p.freeBulk(h, 0, 1); // a double free through the cache: counted, not cached twice
                assertEquals(1, p.doubleFrees());
                assertEquals(4096, p.available());
                int one = p.alloc();
                assertTrue(one >= 0 && p.inUse(one));
                p.free(one);
            });
            assertEquals(4096, p.available());
            // every buffer is on the shared stack again: another thread gets them all
            int[] all = new int[4096];
            assertEquals(4096, p.allocBulk(all, 0, 4096));
            assertEquals(
                    4096,
                    new BitSet() {
                        {
                            for (int x : all) {
                                set(x);
                            }
                        }
                    }.cardinality());
            p.freeBulk(all, 0, 4096);
        }
    }

    @Test
    void buffersAllocatedOnOnePollerAndFreedOnAnotherAreNeverLostNorHandedOutTwice() throws Exception {
        try (PacketPool p = pool(2048)) {
            int bursts = 200_000;
            ArrayBlockingQueue<int[]> ring = new ArrayBlockingQueue<>(16);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            BitSet out = new BitSet(); // guarded by itself: buffers between rx and tx
            Thread rx = new PoolCacheThread("rx", () -> {
                try {
                    for (int b = 0; b < bursts; b++) {
                        int[] h = new int[32];
                        int n = p.allocBulk(h, 0, 32);
                        synchronized (out) {
                            for (int i = 0; i < n; i++) {
                                if (out.get(h[i])) {
                                    throw new AssertionError("buffer " + h[i] + " handed out while in flight");
                                }
                                out.set(h[i]);
                            }
                        }
                        ring.put(java.util.Arrays.copyOf(h, n));
                    }
                    ring.put(new int[] {-1});
                } catch (Throwable e) {
                    failed.set(e);
                    ring.offer(new int[] {-1});
                }
            });
            Thread tx = new PoolCacheThread("tx", () -> {
                try {
                    while (true) {
                        int[] h = ring.take();
                        if (h.length == 1 && h[0] == -1) {
                            return;
                        }
                        synchronized (out) {
                            for (int x : h) {
                                out.clear(x);
                            }
                        }
                        if (h.length == 1) {
                            p.free(h[0]);
                        } else {
                            p.freeBulk(h, 0, h.length);
                        }
                    }
                } catch (Throwable e) {
                    failed.set(e);
                }
            });
            rx.start();
            tx.start();
            rx.join();
            tx.join();
            if (failed.get() != null) {
                throw new AssertionError(failed.get());
            }
            assertEquals(2048, p.available());
            assertEquals(0, p.doubleFrees());
        }
    }

    @Test
    void aSmallPoolHasNoCacheSoPollersCannotStrandIt() throws Exception {
        try (PacketPool p = pool(8)) {
            assertEquals(0, p.cacheSize());
            onPoller(() -> {
                int[] h = new int[8];
                assertEquals(8, p.allocBulk(h, 0, 8));
                assertEquals(0, p.available());
                p.freeBulk(h, 0, 8);
            });
            assertEquals(8, p.available());
        }
    }

    @Test
    void aPollerThatRunsTheSharedStackDryGetsWhatIsThere() throws Exception {
        try (PacketPool p = pool(64)) {
            int cache = p.cacheSize(); // 4
            int[] held = new int[64 - 10];
            assertEquals(held.length, p.allocBulk(held, 0, held.length)); // on this thread: no cache
            onPoller(() -> {
                int[] h = new int[32];
                assertEquals(10, p.allocBulk(h, 0, 32));
                assertEquals(0, p.allocBulk(h, 10, 22));
                assertEquals(-1, p.alloc());
                p.freeBulk(h, 0, 10);
                assertEquals(10, p.available());
            });
            assertTrue(cache > 0);
            p.freeBulk(held, 0, held.length);
            assertEquals(64, p.available());
        }
    }
}
