package dev.panda.pmd.vfio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** net_virtio_pci's data path against the software device: frames, kicks, close, allocation. */
class VirtioPciPortTest {

    private PacketPool pool;
    private SoftVirtioNet dev;
    private VirtioPciPort port;
    private final PacketBurst burst = new PacketBurst(32);

    @BeforeEach
    void open() {
        pool = PacketPool.create(PoolConfig.defaults().withCount(2048).withHugepages(PoolConfig.Hugepages.OFF));
        dev = new SoftVirtioNet("net_virtio_pci7", pool, 3, 256);
        port = dev.port();
    }

    @AfterEach
    void close() {
        dev.close();
        assertEquals(pool.capacity(), pool.available(), "every buffer back in the pool");
        assertEquals(0, pool.doubleFrees());
        pool.close();
    }

    @Test
    void theReceiveRingStartsFullAndFramesArriveWithoutTheHeader() {
        assertEquals(256, port.buffersHeld(), "receiveq filled at open (§5.1.6.3)");
        assertEquals(1, dev.kicks(VirtioPciPort.RXQ), "one kick for the first fill");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(100);
            for (int i = 0; i < 100; i++) {
                f.set(ValueLayout.JAVA_BYTE, i, (byte) (i + 1));
            }
            assertTrue(dev.deliver(f, 0, 100));
            assertTrue(dev.deliver(f, 10, 60));
        }
        assertEquals(2, port.rxBurst(0, burst));
        int h = burst.handles[0];
        assertEquals(100, pool.length(h));
        assertEquals(3, pool.port(h));
        assertEquals(1, pool.segment().get(ValueLayout.JAVA_BYTE, pool.dataOffset(h)));
        assertEquals(100, pool.segment().get(ValueLayout.JAVA_BYTE, pool.dataOffset(h) + 99));
        assertEquals(60, pool.length(burst.handles[1]));
        assertEquals(11, pool.segment().get(ValueLayout.JAVA_BYTE, pool.dataOffset(burst.handles[1])));
        assertEquals(2, port.stats().ipackets());
        assertEquals(160, port.stats().ibytes());
        pool.freeBulk(burst.handles, 0, 2);
    }

    @Test
    void aHostileDevicesUsedEntriesAreCountedAndTheRingGoesOn() {
        dev.completeRxRaw(9999, 64); // an id that is no descriptor
        assertEquals(0, port.rxBurst(0, burst));
        assertEquals(1, port.stats().ierrors());
        dev.completeRxRaw(0, 1 << 20); // buffer 0 is posted, but 1 MiB was never writable
        assertEquals(1, port.rxBurst(0, burst));
        int h = burst.handles[0];
        assertTrue(pool.length(h) <= pool.dataRoom(), "length clamped to the buffer: " + pool.length(h));
        assertEquals(2, port.stats().ierrors());
        pool.free(h);
        try (Arena a = Arena.ofConfined()) {
            // the device's next pop is head 0 again, which it already returned: that entry is refused
            assertTrue(dev.deliver(a.allocate(64), 0, 64));
            assertTrue(dev.deliver(a.allocate(64), 0, 64));
        }
        assertEquals(1, port.rxBurst(0, burst), "the ring keeps working");
        assertEquals(3, port.stats().ierrors());
        pool.free(burst.handles[0]);
    }

    @Test
    void txKicksOnlyWhileTheDeviceAsks() {
        int n = pool.allocBulk(burst.handles, 0, 8);
        for (int i = 0; i < n; i++) {
            pool.setLength(burst.handles[i], 64);
        }
        assertEquals(4, port.txBurst(0, burst, 4));
        assertEquals(1, dev.kicks(VirtioPciPort.TXQ));
        dev.disableKicks(); // VIRTQ_USED_F_NO_NOTIFY (§2.7.10)
        System.arraycopy(burst.handles, 4, burst.handles, 0, 4);
        assertEquals(4, port.txBurst(0, burst, 4));
        assertEquals(1, dev.kicks(VirtioPciPort.TXQ), "no kick once the device said so");
        assertEquals(8, dev.completeTx(32));
        assertEquals(8, port.stats().opackets());
    }

    @Test
    void aBufferWithoutHeadroomGoesOutAsATwoPartChain() {
        int h = pool.alloc();
        pool.adjust(h, -pool.headroom()); // data starts at the buffer: no room for the header
        pool.setLength(h, 80);
        for (int i = 0; i < 80; i++) {
            pool.segment().set(ValueLayout.JAVA_BYTE, pool.dataOffset(h) + i, (byte) (7 * i));
        }
        burst.handles[0] = h;
        assertEquals(1, port.txBurst(0, burst, 1));
        assertEquals(1, dev.loopback());
        assertEquals(1, port.rxBurst(0, burst));
        int r = burst.handles[0];
        assertEquals(80, pool.length(r));
        for (int i = 0; i < 80; i++) {
            assertEquals((byte) (7 * i), pool.segment().get(ValueLayout.JAVA_BYTE, pool.dataOffset(r) + i));
        }
        pool.free(r);
    }

    @Test
    void closeStopsTheDeviceThenReleasesIt() {
        int n = pool.allocBulk(burst.handles, 0, 16);
        for (int i = 0; i < n; i++) {
            pool.setLength(burst.handles[i], 64);
        }
        assertEquals(16, port.txBurst(0, burst, 16)); // still held by the device at close
        port.close();
        assertTrue(dev.stopped() && dev.released());
        assertEquals(pool.capacity(), pool.available());
        assertEquals(0, port.rxBurst(0, burst));
        assertEquals(0, port.txBurst(0, burst, 1));
        assertTrue(!port.link().up());
    }

    @Test
    void theDataPathAllocatesNothingPerPacket() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        PacketBurst rx = new PacketBurst(32);
        long allocated = -1;
        // warm up, then look for one clean round of five (a JIT compile may allocate once)
        for (int round = 0; round < 20 && allocated != 0; round++) {
            run(rx, round < 5 ? 100_000 : 50_000);
            long before = threads.getCurrentThreadAllocatedBytes();
            run(rx, 50_000);
            allocated = threads.getCurrentThreadAllocatedBytes() - before;
        }
        assertEquals(0, allocated, "bytes allocated for 50k bursts of 32 through tx, device and rx");
    }

    private void run(PacketBurst rx, int bursts) {
        for (int b = 0; b < bursts; b++) {
            int n = pool.allocBulk(burst.handles, 0, 32);
            for (int i = 0; i < n; i++) {
                pool.setLength(burst.handles[i], 64);
            }
            int sent = port.txBurst(0, burst, n);
            pool.freeBulk(burst.handles, sent, n - sent);
            dev.loopback();
            int got = port.rxBurst(0, rx);
            pool.freeBulk(rx.handles, 0, got);
        }
    }
}
