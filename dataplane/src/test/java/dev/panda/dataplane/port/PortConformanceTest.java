package dev.panda.dataplane.port;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.Set;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The suite every {@link Port} runs: burst semantics, buffer ownership (never lost, never freed
 * twice), counters, close. A driver's test extends it and says how to open the port and how to
 * make packets arrive on its rx queue 0.
 */
public abstract class PortConformanceTest {

    /** What a driver's test provides. */
    protected interface Fixture extends AutoCloseable {

        Port port();

        /**
         * Arranges for up to {@code n} packets to arrive on rx queue 0 and returns how many will;
         * returns -1 if the port produces packets on its own without limit.
         */
        int feed(int n);

        /** True if what is sent on tx queue 0 comes back on rx queue 0 unchanged (a loopback). */
        default boolean loopback() {
            return false;
        }

        @Override
        default void close() {
            port().close();
        }

        /** Packets arrive from outside the port ({@link #loopback()} false); {@code feed} as {@link #feed}. */
        static Fixture of(Port port, IntUnaryOperator feed) {
            return new Simple(port, feed, false);
        }

        /** A port whose tx queue 0 comes back on rx queue 0 ({@link #loopback()} true). */
        static Fixture loopback(Port port, IntUnaryOperator feed) {
            return new Simple(port, feed, true);
        }
    }

    /** The fixture of {@link Fixture#of} and {@link Fixture#loopback}. */
    private record Simple(Port port, IntUnaryOperator feeder, boolean loopback) implements Fixture {
        @Override
        public int feed(int n) {
            return feeder.applyAsInt(n);
        }
    }

    protected PacketPool pool;
    private Fixture fixture;

    protected abstract Fixture open(PacketPool pool) throws Exception;

    @BeforeEach
    void openPort() throws Exception {
        pool = PacketPool.create(PoolConfig.defaults().withCount(4096).withHugepages(PoolConfig.Hugepages.OFF));
        fixture = open(pool);
    }

    @AfterEach
    void everyBufferComesBack() {
        fixture.close();
        fixture.close(); // close is idempotent
        try {
            assertEquals(0, pool.doubleFrees(), "buffers freed twice");
            assertEquals(pool.capacity(), pool.available(), "buffers lost: not back in the pool after close");
        } finally {
            pool.close();
        }
    }

    private Port port() {
        return fixture.port();
    }

    /** Receives until {@code want} packets arrived or the port stays empty for a while. */
    private int receive(PacketBurst burst, int want, Set<Integer> seen) {
        int got = 0;
        for (int idle = 0; got < want && idle < 2000; ) {
            int n = port().rxBurst(0, burst);
            assertEquals(n, burst.size, "rxBurst must set burst.size to what it returns");
            assertTrue(n >= 0 && n <= burst.maxBurst(), "rxBurst returned " + n);
            if (n == 0) {
                idle++;
                Thread.onSpinWait();
                continue;
            }
            for (int i = 0; i < n; i++) {
                int h = burst.handles[i];
                assertTrue(pool.inUse(h), "received handle " + h + " is not an allocated buffer");
                assertTrue(seen.add(h), "handle " + h + " received twice without being freed");
                int len = pool.length(h);
                assertTrue(len > 0 && len <= pool.maxPacketLength(), "bad length " + len);
            }
            pool.freeBulk(burst.handles, 0, n);
            for (int i = 0; i < n; i++) {
                seen.remove(burst.handles[i]);
            }
            got += n;
        }
        return got;
    }

    @Test
    void rxReturnsOwnedBuffersAndCountsThem() {
        int expect = fixture.feed(100);
        long before = port().stats().ipackets();
        int got = receive(new PacketBurst(32), expect < 0 ? 100 : expect, new HashSet<>());
        if (expect >= 0) {
            assertEquals(expect, got, "packets fed to rx queue 0 did not all arrive");
        } else {
            assertTrue(got >= 100, "a self-producing port returned only " + got);
        }
        assertEquals(before + got, port().stats().ipackets(), "ipackets must count every received packet");
    }

    @Test
    void rxHonoursEveryBurstSize() {
        for (int size : new int[] {1, 7, 32, PacketBurst.MAX_BURST}) {
            int expect = fixture.feed(size * 2);
            int got = receive(new PacketBurst(size), expect < 0 ? size * 2 : expect, new HashSet<>());
            assertTrue(got >= 0, "burst size " + size);
        }
    }

    @Test
    void txTakesAPrefixAndLeavesTheRestWithTheCaller() {
        PacketBurst burst = new PacketBurst(64);
        int n = pool.allocBulk(burst.handles, 0, 64);
        assertEquals(64, n);
        for (int i = 0; i < n; i++) {
            pool.setLength(burst.handles[i], 60);
        }
        PortStats before = port().stats();
        int sent = port().txBurst(0, burst, n);
        assertTrue(sent >= 0 && sent <= n, "txBurst returned " + sent);
        // the caller still owns handles[sent..n): they must still be allocated
        for (int i = sent; i < n; i++) {
            assertTrue(pool.inUse(burst.handles[i]), "txBurst freed a buffer it did not take");
        }
        pool.freeBulk(burst.handles, sent, n - sent);
        PortStats after = port().stats();
        assertEquals(before.opackets() + sent, after.opackets(), "opackets must count what tx took");
        assertEquals(before.obytes() + 60L * sent, after.obytes(), "obytes must count what tx took");
        drainLoopback();
    }

    @Test
    void txOfZeroPacketsIsANoOp() {
        PacketBurst burst = new PacketBurst(8);
        PortStats before = port().stats();
        assertEquals(0, port().txBurst(0, burst, 0));
        assertEquals(before, port().stats());
    }

    @Test
    void loopbackKeepsPayloadIntact() {
        if (!fixture.loopback()) {
            return; // only ports that loop back can show it; the others prove delivery in their own tests
        }
        PacketBurst burst = new PacketBurst(32);
        int n = pool.allocBulk(burst.handles, 0, 32);
        MemorySegment mem = pool.segment();
        for (int i = 0; i < n; i++) {
            int h = burst.handles[i];
            pool.setLength(h, 64 + i);
            for (int b = 0; b < 64 + i; b++) {
                mem.set(ValueLayout.JAVA_BYTE, pool.dataOffset(h) + b, (byte) (i * 7 + b));
            }
        }
        assertEquals(n, port().txBurst(0, burst, n));
        PacketBurst rx = new PacketBurst(32);
        int got = 0;
        // bounded by time, not by polls: a loop through another process (DPDK's io forwarding)
        // may take longer than 1000 empty polls on a loaded machine
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (got < n && System.nanoTime() < deadline) {
            int k = port().rxBurst(0, rx);
            if (k == 0) {
                Thread.yield();
            }
            for (int j = 0; j < k; j++, got++) {
                int h = rx.handles[j];
                assertEquals(64 + got, pool.length(h), "length of packet " + got);
                for (int b = 0; b < 64 + got; b++) {
                    assertEquals((byte) (got * 7 + b), mem.get(ValueLayout.JAVA_BYTE, pool.dataOffset(h) + b));
                }
            }
            pool.freeBulk(rx.handles, 0, k);
        }
        assertEquals(n, got);
    }

    @Test
    void statsAreMonotonicAndMacIsUnicast() {
        PortStats a = port().stats();
        fixture.feed(10);
        receive(new PacketBurst(32), 10, new HashSet<>());
        PortStats b = port().stats();
        assertTrue(b.ipackets() >= a.ipackets() && b.opackets() >= a.opackets() && b.ibytes() >= a.ibytes());
        assertFalse((port().mac() & 0x01_00_00_00_00_00L) != 0, "MAC must not be multicast");
        assertTrue(port().link().up(), "an open port's link is up");
        assertTrue(port().rxQueueCount() >= 1 && port().txQueueCount() >= 1);
        assertFalse(port().name().isEmpty());
    }

    private void drainLoopback() {
        if (fixture.loopback()) {
            receive(new PacketBurst(64), Integer.MAX_VALUE, new HashSet<>());
        }
    }
}
