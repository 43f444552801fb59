package dev.panda.pmd.virtio.vhost;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_EVENT_IDX;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_INDIRECT_DESC;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MRG_RXBUF;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.port.Ports;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.ring.VirtioNetHeader;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * net_vhost's ring and net features against {@link TestFrontend} negotiating them: mergeable
 * receive buffers (virtio 1.2 §5.1.6.4), EVENT_IDX notification suppression (§2.7.7, §2.7.10)
 * and indirect descriptors (§2.7.5.3) both ways.
 */
class VhostFeaturesTest {

    private static final long HDR = VirtioNetHeader.BYTES;

    @TempDir
    Path dir;

    PacketPool pool;
    Path sock;
    VhostPort port;

    @BeforeEach
    void open() {
        pool = PacketPool.create(PoolConfig.defaults().withCount(2048).withHugepages(PoolConfig.Hugepages.OFF));
        sock = dir.resolve("vh.sock");
        port = (VhostPort) Ports.discover().open("net_vhost0,iface=" + sock, PortContext.of(pool, 0));
    }

    @AfterEach
    void close() {
        port.close();
        assertEquals(pool.capacity(), pool.available(), "every buffer back in the pool");
        pool.close();
    }

    /** Packets of the given lengths, byte b of packet i = i * 7 + b. */
    private PacketBurst packets(int... lens) {
        PacketBurst burst = new PacketBurst(Math.max(32, lens.length));
        assertEquals(lens.length, pool.allocBulk(burst.handles, 0, lens.length));
        for (int i = 0; i < lens.length; i++) {
            int h = burst.handles[i];
            pool.setLength(h, lens[i]);
            for (int b = 0; b < lens[i]; b++) {
                pool.segment().set(ValueLayout.JAVA_BYTE, pool.dataOffset(h) + b, (byte) (i * 7 + b));
            }
        }
        return burst;
    }

    @Test
    void mergeableSpreadsAFrameOverAsManyBuffersAsItNeeds() {
        try (TestFrontend fe = new TestFrontend(sock, 256, 0, bit(F_MRG_RXBUF)).start()) {
            awaitLinkUp();
            assertEquals(bit(F_MRG_RXBUF), port.negotiatedFeatures() & bit(F_MRG_RXBUF));
            int buf = 256;
            fe.postRx(0, 64, buf);
            // 60: one buffer; 244: header + frame fill one exactly; 245: one byte spills; 1500: six
            int[] lens = {60, 244, 245, 1500, 1000, 2000};
            PacketBurst burst = packets(lens);
            assertEquals(lens.length, port.txBurst(0, burst, lens.length));
            int[] tokens = new int[256];
            int[] used = new int[256];
            int got = fe.harvestRx(tokens, used);
            int at = 0;
            for (int i = 0; i < lens.length; i++) {
                int expect = (int) ((HDR + lens[i] + buf - 1) / buf);
                MemorySegment first = fe.rxBuffer(tokens[at]);
                assertEquals(expect, VirtioNetHeader.numBuffers(first, 0), "num_buffers of packet " + i);
                long seen = 0;
                for (int k = 0; k < expect; k++, at++) {
                    MemorySegment b = fe.rxBuffer(tokens[at]);
                    long skip = k == 0 ? HDR : 0;
                    long n = used[at] - skip;
                    assertTrue(used[at] <= buf, "used length within the buffer");
                    for (long j = 0; j < n; j++, seen++) {
                        assertEquals(
                                (byte) (i * 7 + seen),
                                b.get(ValueLayout.JAVA_BYTE, skip + j),
                                "byte " + seen + " of packet " + i);
                    }
                }
                assertEquals(lens[i], seen, "frame bytes of packet " + i + " over its buffers");
            }
            assertEquals(at, got, "no used entry beyond the packets' buffers");
            PortStats s = port.stats();
            assertEquals(lens.length, s.opackets());
            assertEquals(60 + 244 + 245 + 1500 + 1000 + 2000, s.obytes());
            assertEquals(0, s.oerrors());
        }
    }

    @Test
    void aMergeableFrameWaitsWholeWhenTheRingRunsShort() {
        try (TestFrontend fe = new TestFrontend(sock, 256, 0, bit(F_MRG_RXBUF)).start()) {
            awaitLinkUp();
            fe.postRx(0, 2, 256);
            PacketBurst burst = packets(1500);
            assertEquals(0, port.txBurst(0, burst, 1), "two buffers cannot hold 1512 bytes: the packet stays");
            int[] tokens = new int[16];
            int[] used = new int[16];
            assertEquals(0, fe.harvestRx(tokens, used), "nothing of the packet reached the used ring");
            fe.postRx(2, 6, 256);
            assertEquals(1, port.txBurst(0, burst, 1));
            assertEquals(6, fe.harvestRx(tokens, used));
            assertEquals(0, tokens[0], "the packet starts in the first buffer offered");
            assertEquals(6, VirtioNetHeader.numBuffers(fe.rxBuffer(0), 0));
            long total = 0;
            for (int i = 0; i < 6; i++) {
                total += used[i];
            }
            assertEquals(HDR + 1500, total);
        }
    }

    @Test
    void aMalformedChainAmongAFramesBuffersEndsUpBetweenPackets() {
        try (TestFrontend fe = new TestFrontend(sock, 256, 0, bit(F_MRG_RXBUF)).start()) {
            awaitLinkUp();
            fe.postRx(0, 1, 256);
            assertTrue(fe.rxq.addIn(0x7777_0000_0000L, 256, 99), "a buffer outside guest memory");
            fe.postRx(2, 6, 256);
            assertEquals(1, port.txBurst(0, packets(600), 1));
            int[] tokens = new int[16];
            int[] used = new int[16];
            assertEquals(5, fe.harvestRx(tokens, used));
            assertEquals(0, tokens[0]);
            assertEquals(0, used[0], "the frame's first buffer, given back unused");
            assertEquals(99, tokens[1]);
            assertEquals(0, used[1], "the malformed chain, returned between packets");
            assertEquals(2, tokens[2]);
            assertEquals(3, VirtioNetHeader.numBuffers(fe.rxBuffer(2), 0), "612 bytes in three 256-byte buffers");
            assertEquals(HDR + 600, used[2] + used[3] + used[4]);
            assertEquals(
                    (byte) 250, fe.rxBuffer(3).get(ValueLayout.JAVA_BYTE, 6), "frame byte 250 in the second buffer");
            assertEquals(1, port.stats().opackets());
            assertTrue(port.stats().oerrors() >= 1, "the malformed chain counted");
        }
    }

    @Test
    void withoutMergeableEveryPacketIsOneChainWithNumBuffersOne() {
        try (TestFrontend fe = new TestFrontend(sock, 256).start()) {
            awaitLinkUp();
            assertEquals(0, port.negotiatedFeatures() & bit(F_MRG_RXBUF));
            fe.postRx(0, 4, 256);
            PacketBurst burst = packets(100, 1500, 200);
            assertEquals(3, port.txBurst(0, burst, 3));
            int[] tokens = new int[16];
            int[] used = new int[16];
            assertEquals(3, fe.harvestRx(tokens, used));
            assertEquals(HDR + 100, used[0]);
            assertEquals(0, used[1], "1500 bytes do not fit a 256-byte buffer: returned unused");
            assertEquals(HDR + 200, used[2]);
            assertEquals(1, VirtioNetHeader.numBuffers(fe.rxBuffer(tokens[2]), 0));
            assertEquals(1, port.stats().oerrors());
            assertEquals(2, port.stats().opackets());
        }
    }

    @Test
    void aMalformedChainBeforeABufferTooSmallIsCountedOnce() {
        try (TestFrontend fe = new TestFrontend(sock, 256).start()) {
            awaitLinkUp();
            fe.postRx(0, 1, 256);
            assertTrue(fe.rxq.addIn(0x7777_0000_0000L, 256, 99), "a buffer outside guest memory");
            fe.postRx(2, 2, 256);
            // 100 fits the first buffer; before the second comes the malformed chain, and 1500
            // fits neither that buffer nor the next: both refused, the bad chain once
            PacketBurst burst = packets(100, 1500, 1500);
            assertEquals(3, port.txBurst(0, burst, 3));
            int[] tokens = new int[16];
            int[] used = new int[16];
            assertEquals(4, fe.harvestRx(tokens, used));
            assertEquals(0, tokens[0]);
            assertEquals(HDR + 100, used[0]);
            assertEquals(99, tokens[1]);
            assertEquals(0, used[1], "the malformed chain, returned");
            assertEquals(2, tokens[2]);
            assertEquals(0, used[2], "too small for 1500 bytes: returned unused");
            assertEquals(3, tokens[3]);
            assertEquals(0, used[3]);
            assertEquals(1, port.stats().opackets());
            assertEquals(3, port.stats().oerrors(), "two refused packets and one malformed chain, each once");
        }
    }

    @Test
    void eventIdxInterruptsOnlyWhenUsedEventIsPassed() {
        try (TestFrontend fe = new TestFrontend(sock, 256, 0, bit(F_EVENT_IDX)).start()) {
            awaitLinkUp();
            assertTrue(fe.rxq.eventIdx());
            fe.postRx(0, 64);
            int[] tokens = new int[64];
            int[] used = new int[64];
            // used_event = next used index: the next packet interrupts
            fe.rxq.enableInterrupts();
            assertEquals(1, port.txBurst(0, packets(64), 1));
            assertTrue(Posix.eventfdRead(fe.calls[0]) > 0, "used_event passed: interrupted");
            assertEquals(1, fe.harvestRx(tokens, used));
            // used_event half the index space ahead: no interrupt for the next packets
            fe.rxq.disableInterrupts();
            assertEquals(2, port.txBurst(0, packets(64, 64), 2));
            assertEquals(0, Posix.eventfdRead(fe.calls[0]), "used_event not reached: no interrupt");
            assertEquals(2, fe.harvestRx(tokens, used));
            fe.rxq.enableInterrupts();
            assertEquals(1, port.txBurst(0, packets(64), 1));
            assertTrue(Posix.eventfdRead(fe.calls[0]) > 0);
            assertEquals(1, fe.harvestRx(tokens, used));
        }
    }

    @Test
    void indirectTablesCarryFramesBothWays() {
        long want = bit(F_INDIRECT_DESC) | bit(F_MRG_RXBUF) | bit(F_EVENT_IDX);
        try (TestFrontend fe = new TestFrontend(sock, 64, 0, want).start()) {
            awaitLinkUp();
            // guest → panda: header and frame as two entries of one indirect table
            long[] addrs = new long[2];
            int[] lens = new int[2];
            for (int i = 0; i < 10; i++) {
                long off = fe.txBuffers + (long) i * TestFrontend.BUF;
                fe.mem.asSlice(off, HDR).fill((byte) 0);
                int len = 100 + i;
                for (int b = 0; b < len; b++) {
                    fe.mem.set(ValueLayout.JAVA_BYTE, off + 64 + b, (byte) (i + b));
                }
                addrs[0] = TestFrontend.GPA + off;
                lens[0] = (int) HDR;
                addrs[1] = TestFrontend.GPA + off + 64;
                lens[1] = len;
                assertTrue(fe.txq.addIndirect(addrs, lens, 2, 0, i));
            }
            fe.txq.publish();
            PacketBurst burst = new PacketBurst(32);
            int got = 0;
            for (long deadline = System.nanoTime() + 5_000_000_000L; got < 10 && System.nanoTime() < deadline; ) {
                int n = port.rxBurst(0, burst);
                for (int k = 0; k < n; k++, got++) {
                    int h = burst.handles[k];
                    assertEquals(100 + got, pool.length(h));
                    assertEquals((byte) (got + 5), pool.segment().get(ValueLayout.JAVA_BYTE, pool.dataOffset(h) + 5));
                }
                pool.freeBulk(burst.handles, 0, n);
            }
            assertEquals(10, got);
            // panda → guest: a receive buffer described by an indirect table of two writable entries
            for (int i = 0; i < 4; i++) {
                long off = fe.rxBuffers + (long) i * TestFrontend.BUF;
                addrs[0] = TestFrontend.GPA + off;
                lens[0] = 40;
                addrs[1] = TestFrontend.GPA + off + 1024;
                lens[1] = 1024;
                assertTrue(fe.rxq.addIndirect(addrs, lens, 0, 2, i));
            }
            fe.rxq.publish();
            assertEquals(1, port.txBurst(0, packets(300), 1));
            int[] tokens = new int[8];
            int[] used = new int[8];
            assertEquals(1, fe.harvestRx(tokens, used));
            assertEquals(HDR + 300, used[0]);
            MemorySegment b = fe.rxBuffer(tokens[0]);
            assertEquals(1, VirtioNetHeader.numBuffers(b, 0));
            assertEquals((byte) 27, b.get(ValueLayout.JAVA_BYTE, HDR + 27), "frame byte 27 in the first entry");
            assertEquals(
                    (byte) 100,
                    b.get(ValueLayout.JAVA_BYTE, 1024 + (100 - 28)),
                    "frame byte 100 continues in the second entry");
            assertEquals(0, port.stats().ierrors() + port.stats().oerrors());
        }
    }

    private void awaitLinkUp() {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!port.link().up()) {
            assertTrue(System.nanoTime() < deadline, "link never went up");
            Thread.onSpinWait();
        }
    }
}
