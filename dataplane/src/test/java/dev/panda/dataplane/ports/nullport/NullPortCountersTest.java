package dev.panda.dataplane.ports.nullport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.lcore.IdleStrategy;
import dev.panda.dataplane.lcore.Lcore;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.port.Ports;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Counters of a port whose queues are polled from several lcores at once: every figure is kept
 * per queue by that queue's poller, so none is lost when the pollers run on different CPUs.
 */
class NullPortCountersTest {

    private static final int QUEUES = 16;
    private static final int LCORES = 2;
    private static final int BURST = 32;

    /** An empty pool: every rx burst of every queue counts 32 packets in rx_nombuf. */
    @Test
    void rxNombufFromSeveralLcoresLosesNothing() {
        try (PacketPool pool =
                PacketPool.create(PoolConfig.defaults().withCount(64).withHugepages(PoolConfig.Hugepages.OFF))) {
            int[] held = new int[pool.capacity()];
            assertEquals(held.length, pool.allocBulk(held, 0, held.length));
            Port port = Ports.discover().open("net_null0,queues=" + QUEUES, PortContext.of(pool, 0));
            try {
                long[] bursts = runLcores(port, 1_000_000);
                long expected = (bursts[0] + bursts[1]) * BURST;
                PortStats s = port.stats();
                assertEquals(
                        expected,
                        s.rxNombuf(),
                        "rx_nombuf after " + (bursts[0] + bursts[1]) + " empty-pool bursts on " + QUEUES
                                + " queues from " + LCORES + " lcores (lost: " + (expected - s.rxNombuf()) + ")");
                assertEquals(0, s.ipackets());
            } finally {
                port.close();
                pool.freeBulk(held, 0, held.length);
            }
        }
    }

    /** Packets and bytes of queues spread over several lcores add up exactly, too. */
    @Test
    void rxPacketsFromSeveralLcoresAddUp() {
        try (PacketPool pool =
                PacketPool.create(PoolConfig.defaults().withCount(4096).withHugepages(PoolConfig.Hugepages.OFF))) {
            Port port = Ports.discover().open("net_null0,size=100,queues=" + QUEUES, PortContext.of(pool, 0));
            try {
                long[] bursts = runLcores(port, 200_000);
                long expected = (bursts[0] + bursts[1]) * BURST;
                PortStats s = port.stats();
                assertEquals(expected, s.ipackets());
                assertEquals(expected * 100, s.ibytes());
                assertEquals(0, s.rxNombuf());
                assertEquals(pool.capacity(), pool.available());
            } finally {
                port.close();
            }
        }
    }

    /**
     * Lcore i polls queues i, i + LCORES, ... (each queue has one poller) {@code rounds} times
     * each, pinned to CPU i when the machine has it, sending what it receives to the same queue's
     * tx (which frees it); returns each lcore's rx burst count.
     */
    private static long[] runLcores(Port port, int rounds) {
        int cpus = Runtime.getRuntime().availableProcessors();
        long[] bursts = new long[LCORES];
        Lcore[] lcores = new Lcore[LCORES];
        CountDownLatch done = new CountDownLatch(LCORES);
        for (int i = 0; i < LCORES; i++) {
            int id = i;
            PacketBurst b = new PacketBurst(BURST);
            int[] left = {rounds};
            lcores[i] = new Lcore(
                    id,
                    id < cpus ? new int[] {id} : new int[0],
                    new IdleStrategy.BusySpin(),
                    () -> {
                        if (left[0] == 0) {
                            return 0;
                        }
                        left[0]--;
                        int moved = 0;
                        for (int q = id; q < QUEUES; q += LCORES) {
                            int n = port.rxBurst(q, b);
                            bursts[id]++;
                            if (n > 0) {
                                moved += n;
                                port.txBurst(q, b, n);
                            }
                        }
                        if (left[0] == 0) {
                            done.countDown();
                        }
                        return moved;
                    },
                    null);
        }
        for (Lcore l : lcores) {
            l.start();
        }
        try {
            assertTrue(done.await(120, TimeUnit.SECONDS), "the lcores finished their rounds");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Lcore l : lcores) {
            l.join();
            assertNull(l.failure());
        }
        return bursts;
    }
}
