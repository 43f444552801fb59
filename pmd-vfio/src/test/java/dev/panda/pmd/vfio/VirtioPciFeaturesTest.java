package dev.panda.pmd.vfio;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_INDIRECT_DESC;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MRG_RXBUF;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * net_virtio_pci with the features the shared driver queue pair brings (pmd-virtio's
 * VirtioNetDriver): VIRTIO_NET_F_MRG_RXBUF (a frame in several receive buffers, §5.1.6.4) and
 * VIRTIO_F_INDIRECT_DESC (a headerless packet as one descriptor with a two-entry table).
 */
class VirtioPciFeaturesTest {

    private static final int SIZE = 256;
    private PacketPool pool;
    private SoftVirtioNet dev;
    private VirtioPciPort port;
    private final PacketBurst burst = new PacketBurst(32);

    @BeforeEach
    void open() {
        pool = PacketPool.create(PoolConfig.defaults().withCount(2048).withHugepages(PoolConfig.Hugepages.OFF));
        dev = new SoftVirtioNet("net_virtio_pci6", pool, 2, SIZE, bit(F_MRG_RXBUF) | bit(F_INDIRECT_DESC));
        port = dev.port();
    }

    @AfterEach
    void close() {
        dev.close();
        assertEquals(pool.capacity(), pool.available(), "every buffer back in the pool");
        assertEquals(0, pool.doubleFrees());
        pool.close();
    }

    private static MemorySegment frame(Arena a, int len) {
        MemorySegment f = a.allocate(len);
        for (int i = 0; i < len; i++) {
            f.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + 7));
        }
        return f;
    }

    @Test
    void aFrameInThreeReceiveBuffersArrivesWhole() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = frame(a, 300);
            assertTrue(dev.deliverSplit(f, 0, 300, 100));
            assertTrue(dev.deliverSplit(f, 0, 64, 100)); // one buffer, num_buffers 1
            int inUse = pool.capacity() - pool.available();
            assertEquals(SIZE, inUse, "the receive ring's buffers");
            assertEquals(2, port.rxBurst(0, burst));
            int h = burst.handles[0];
            assertEquals(300, pool.length(h));
            assertEquals(2, pool.port(h));
            for (int i = 0; i < 300; i++) {
                assertEquals(
                        (byte) (i * 31 + 7),
                        pool.segment().get(ValueLayout.JAVA_BYTE, pool.dataOffset(h) + i),
                        "byte " + i);
            }
            assertEquals(64, pool.length(burst.handles[1]));
            assertEquals(2, port.stats().ipackets());
            assertEquals(364, port.stats().ibytes());
            assertEquals(0, port.stats().ierrors());
            // four buffers came back from the device: two frames handed on, the two continuation
            // buffers back in the pool (the ring is topped up only from 32 free descriptors)
            assertEquals(SIZE - 4, port.buffersHeld());
            assertEquals(inUse - 2, pool.capacity() - pool.available());
            pool.freeBulk(burst.handles, 0, 2);
        }
    }

    @Test
    void aMergedFrameLargerThanAPoolBufferIsDroppedAndCounted() {
        try (Arena a = Arena.ofConfined()) {
            int len = pool.dataRoom() + 100;
            MemorySegment f = frame(a, len);
            assertTrue(dev.deliverSplit(f, 0, len, 1000));
            assertEquals(0, port.rxBurst(0, burst));
            assertEquals(1, port.stats().ierrors());
            assertEquals(0, port.stats().ipackets());
            assertTrue(dev.deliverSplit(f, 0, 200, 1000));
            assertEquals(1, port.rxBurst(0, burst), "the ring goes on");
            assertEquals(200, pool.length(burst.handles[0]));
            pool.free(burst.handles[0]);
        }
    }

    @Test
    void aHeaderlessPacketTakesOneDescriptorThroughAnIndirectTable() {
        int h = pool.alloc();
        pool.adjust(h, -pool.headroom()); // no room for the header in front of the data
        pool.setLength(h, 90);
        for (int i = 0; i < 90; i++) {
            pool.segment().set(ValueLayout.JAVA_BYTE, pool.dataOffset(h) + i, (byte) (5 * i));
        }
        burst.handles[0] = h;
        assertEquals(1, port.txBurst(0, burst, 1));
        assertEquals(SIZE - 1, dev.txFreeDescriptors(), "one ring descriptor, not a two-descriptor chain");
        assertEquals(1, dev.loopback());
        assertEquals(1, port.rxBurst(0, burst));
        int r = burst.handles[0];
        assertEquals(90, pool.length(r));
        for (int i = 0; i < 90; i++) {
            assertEquals((byte) (5 * i), pool.segment().get(ValueLayout.JAVA_BYTE, pool.dataOffset(r) + i));
        }
        pool.free(r);
    }
}
