package dev.panda.pmd.virtio.vhost;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_EVENT_IDX;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_INDIRECT_DESC;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_IN_ORDER;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_LOG_ALL;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MQ;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MRG_RXBUF;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_PROTOCOL_FEATURES;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_RING_PACKED;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_VERSION_1;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;
import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.requestFlags;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.port.Ports;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.ring.VirtioNetHeader;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.U64;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringAddr;
import dev.panda.pmd.virtio.vhostuser.VhostUserRequest;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** panda's net_vhost port against {@link TestFrontend}, our own front-end, in one process. */
class VhostPortTest {

    @TempDir
    Path dir;

    PacketPool pool;
    Path sock;
    Port port;

    @BeforeEach
    void open() {
        pool = PacketPool.create(PoolConfig.defaults().withCount(4096).withHugepages(PoolConfig.Hugepages.OFF));
        sock = dir.resolve("vh.sock");
        port = Ports.discover().open("net_vhost0,iface=" + sock, PortContext.of(pool, 3));
    }

    @AfterEach
    void close() {
        port.close();
        port.close();
        assertFalse(Files.exists(sock), "the socket path is removed on close");
        assertEquals(pool.capacity(), pool.available(), "every buffer back in the pool");
        pool.close();
    }

    /** Receives {@code want} frames; frame k of them is frame {@code base + k}: its length and pattern. */
    private int receive(PacketBurst burst, int want, int base, int[] expectLen) {
        int got = 0;
        for (long deadline = System.nanoTime() + 5_000_000_000L; got < want && System.nanoTime() < deadline; ) {
            int n = port.rxBurst(0, burst);
            for (int i = 0; i < n; i++, got++) {
                int h = burst.handles[i];
                assertEquals(expectLen[base + got], pool.length(h), "length of frame " + (base + got));
                assertEquals(3, pool.port(h));
                for (int b = 0; b < pool.length(h); b++) {
                    assertEquals(
                            (byte) (base + got + b),
                            pool.segment().get(ValueLayout.JAVA_BYTE, pool.dataOffset(h) + b),
                            "byte " + b + " of frame " + (base + got));
                }
            }
            pool.freeBulk(burst.handles, 0, n);
        }
        return got;
    }

    @Test
    void guestTransmitsPandaReceivesEveryFrameIntact() {
        try (TestFrontend fe = new TestFrontend(sock, 256).start()) {
            awaitLinkUp();
            int total = 1000;
            int[] lens = new int[total];
            PacketBurst burst = new PacketBurst(32);
            int sent = 0;
            int got = 0;
            long bytes = 0;
            while (got < total) {
                fe.reclaimTx();
                int batch = 0;
                while (sent < total && batch < 100) {
                    lens[sent] = 60 + sent % 1455;
                    if (!fe.send(sent % 256, lens[sent], sent)) {
                        break;
                    }
                    bytes += lens[sent];
                    sent++;
                    batch++;
                }
                fe.txq.publish();
                got += receive(burst, sent - got, got, lens);
            }
            assertEquals(total, got);
            PortStats s = port.stats();
            assertEquals(total, s.ipackets());
            assertEquals(bytes, s.ibytes());
            assertEquals(0, s.ierrors());
            assertTrue(Posix.eventfdRead(fe.calls[1]) > 0, "the guest was interrupted for used buffers");
            assertEquals(total & 0xFFFF, fe.getVringBase(1), "GET_VRING_BASE says where panda stopped");
            // a stopped ring moves nothing
            fe.reclaimTx();
            assertTrue(fe.send(0, 64, 0));
            fe.txq.publish();
            assertEquals(0, port.rxBurst(0, burst));
        }
    }

    @Test
    void pandaTransmitsGuestReceivesEveryFrameIntact() {
        try (TestFrontend fe = new TestFrontend(sock, 256).start()) {
            awaitLinkUp();
            fe.postRx(0, 64);
            PacketBurst burst = new PacketBurst(100);
            int n = pool.allocBulk(burst.handles, 0, 100);
            for (int i = 0; i < n; i++) {
                int h = burst.handles[i];
                pool.setLength(h, 60 + i * 14);
                for (int b = 0; b < pool.length(h); b++) {
                    pool.segment().set(ValueLayout.JAVA_BYTE, pool.dataOffset(h) + b, (byte) (i * 3 + b));
                }
            }
            int sent = port.txBurst(0, burst, n);
            assertEquals(64, sent, "one packet per posted receive buffer; the rest stay with the caller");
            pool.freeBulk(burst.handles, sent, n - sent);
            int[] tokens = new int[256];
            int[] lens = new int[256];
            int got = fe.harvestRx(tokens, lens);
            assertEquals(64, got);
            for (int k = 0; k < got; k++) {
                int i = tokens[k];
                assertEquals(TestFrontend.HDR + 60 + i * 14, lens[k], "written length of packet " + i);
                MemorySegment buf = fe.rxBuffer(i);
                assertEquals((short) 1, (short) VirtioNetHeader.NUM_BUFFERS.get(buf, 0L));
                assertEquals((byte) 0, (byte) VirtioNetHeader.FLAGS.get(buf, 0L));
                for (int b = 0; b < 60 + i * 14; b++) {
                    assertEquals((byte) (i * 3 + b), buf.get(ValueLayout.JAVA_BYTE, TestFrontend.HDR + b));
                }
            }
            PortStats s = port.stats();
            assertEquals(64, s.opackets());
            assertTrue(Posix.eventfdRead(fe.calls[0]) > 0, "the guest was interrupted for received packets");
        }
    }

    @Test
    void noBufferLeavesTheChainForLaterAndCountsRxNombuf() {
        try (TestFrontend fe = new TestFrontend(sock, 256).start()) {
            awaitLinkUp();
            for (int i = 0; i < 10; i++) {
                assertTrue(fe.send(i, 64, i));
            }
            fe.txq.publish();
            int[] all = new int[pool.capacity()];
            int held = pool.allocBulk(all, 0, all.length);
            PacketBurst burst = new PacketBurst(32);
            assertEquals(0, port.rxBurst(0, burst));
            assertTrue(port.stats().rxNombuf() > 0);
            pool.freeBulk(all, 0, held);
            int[] lens = new int[10];
            java.util.Arrays.fill(lens, 64);
            assertEquals(10, receive(burst, 10, 0, lens), "the chains waited for buffers");
        }
    }

    @Test
    void malformedFramesAreCountedAndThePortGoesOn() {
        try (TestFrontend fe = new TestFrontend(sock, 256).start()) {
            awaitLinkUp();
            // a chain holding only part of a header, and one beyond guest memory
            assertTrue(fe.txq.addOut(TestFrontend.GPA + fe.txBuffers, 8, 0));
            assertTrue(fe.txq.addOut(TestFrontend.GPA + fe.mem.byteSize() - 16, 64, 1));
            assertTrue(fe.send(2, 64, 0));
            fe.txq.publish();
            PacketBurst burst = new PacketBurst(32);
            assertEquals(1, receive(burst, 1, 0, new int[] {64}));
            assertEquals(2, port.stats().ierrors());
            assertEquals(3, fe.reclaimTx(), "bad chains are returned too");
        }
    }

    @Test
    void refusedRequestsGetAFailedAckAndTheConnectionGoesOn() {
        try (TestFrontend fe = new TestFrontend(sock, 256).start()) {
            assertNotEquals(
                    0,
                    fe.ackStatus(new U64(VhostUserRequest.SET_FEATURES, requestFlags(true), bit(F_VERSION_1) | 1L)),
                    "VIRTIO_NET_F_CSUM is not offered");
            assertNotEquals(
                    0,
                    fe.ackStatus(new VringAddr(requestFlags(true), 1, 0, 0x10, 0x20, 0x30, 0)),
                    "ring addresses outside the memory table");
            assertNotEquals(
                    0,
                    fe.ackStatus(new dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringState(
                            VhostUserRequest.SET_VRING_NUM, requestFlags(true), 7, 256)),
                    "vring 7 does not exist");
            assertEquals(
                    bit(F_VERSION_1)
                            | bit(F_PROTOCOL_FEATURES)
                            | bit(F_MRG_RXBUF)
                            | bit(F_INDIRECT_DESC)
                            | bit(F_EVENT_IDX)
                            | bit(F_RING_PACKED)
                            | bit(F_IN_ORDER)
                            | bit(F_LOG_ALL),
                    fe.query(VhostUserRequest.GET_FEATURES),
                    "still answering");
        }
    }

    @Test
    void aFrontEndCanGoAndAnotherCome() throws IOException {
        long fdsBefore;
        try (TestFrontend fe = new TestFrontend(sock, 256).start()) {
            awaitLinkUp();
        }
        awaitLink(false);
        // the link goes down when the vrings are taken back; the connection's descriptors close
        // just after, on the back-end's thread: count once that has settled
        fdsBefore = settledFds(-1);
        for (int round = 0; round < 3; round++) {
            try (TestFrontend fe = new TestFrontend(sock, 128).start()) {
                awaitLinkUp();
                assertTrue(fe.send(0, 100, 0));
                fe.txq.publish();
                assertEquals(1, receive(new PacketBurst(8), 1, 0, new int[] {100}));
            }
            awaitLink(false);
        }
        assertEquals(fdsBefore, settledFds(fdsBefore), "descriptors of finished connections are closed");
    }

    @Test
    void secondQueuePairWorksWithMq() {
        Path sock2 = dir.resolve("mq.sock");
        try (Port mq = Ports.discover().open("net_vhost1,iface=" + sock2 + ",queues=2", PortContext.of(pool, 1));
                TestFrontend fe = new TestFrontend(sock2, 256, 1).start()) {
            assertEquals(2, mq.rxQueueCount());
            assertTrue((fe.protocol & VhostBackend.P_MQ) != 0, "MQ offered with queues=2");
            assertTrue(
                    (fe.query(VhostUserRequest.GET_FEATURES) & bit(F_MQ)) != 0,
                    "VIRTIO_NET_F_MQ offered with queues=2 (QEMU hides it from the guest otherwise)");
            assertEquals(2, fe.query(VhostUserRequest.GET_QUEUE_NUM));
            assertTrue(fe.send(0, 80, 0));
            fe.txq.publish();
            PacketBurst burst = new PacketBurst(8);
            assertEquals(0, mq.rxBurst(0, burst), "queue pair 0 was never set up");
            int got = 0;
            for (long deadline = System.nanoTime() + 2_000_000_000L; got == 0 && System.nanoTime() < deadline; ) {
                got = mq.rxBurst(1, burst);
            }
            assertEquals(1, got);
            assertEquals(80, pool.length(burst.handles[0]));
            pool.free(burst.handles[0]);
            fe.postRx(0, 1);
            int h = pool.alloc();
            pool.setLength(h, 70);
            burst.handles[0] = h;
            assertEquals(1, mq.txBurst(1, burst, 1));
            assertEquals(0, mq.txBurst(0, burst, 1), "nothing to send into on pair 0");
        }
    }

    @Test
    void pollersNeverTouchARingTheControlThreadTookBack() throws Exception {
        java.util.concurrent.atomic.AtomicReference<Throwable> failure =
                new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicLong received = new java.util.concurrent.atomic.AtomicLong();
        Thread rxPoller = Thread.ofPlatform().start(() -> {
            PacketBurst burst = new PacketBurst(32);
            try {
                while (!stop.get()) {
                    int n = port.rxBurst(0, burst);
                    pool.freeBulk(burst.handles, 0, n);
                    received.addAndGet(n);
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        Thread txPoller = Thread.ofPlatform().start(() -> {
            PacketBurst burst = new PacketBurst(32);
            try {
                while (!stop.get()) {
                    int n = pool.allocBulk(burst.handles, 0, 32);
                    for (int i = 0; i < n; i++) {
                        pool.setLength(burst.handles[i], 64);
                    }
                    int sent = port.txBurst(0, burst, n);
                    pool.freeBulk(burst.handles, sent, n - sent);
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        try {
            for (int round = 0; round < 20 && failure.get() == null; round++) {
                try (TestFrontend fe = new TestFrontend(sock, 256).start()) {
                    fe.postRx(0, 128);
                    for (int i = 0; i < 100; i++) {
                        fe.send(i, 64, i);
                    }
                    fe.txq.publish();
                    if (round % 2 == 0) {
                        // a new memory table while the rings run: both are taken back and rebuilt
                        fe.ack(new dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemTable(
                                requestFlags(true),
                                java.util.List.of(new dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemoryRegion(
                                        TestFrontend.GPA, fe.mem.byteSize(), fe.mem.address(), 0)),
                                java.util.List.of(fe.memfd)));
                    }
                    fe.getVringBase(1);
                }
            }
        } finally {
            stop.set(true);
            rxPoller.join();
            txPoller.join();
        }
        if (failure.get() != null) {
            throw new AssertionError("a poller failed", failure.get());
        }
        assertTrue(received.get() > 0);
    }

    @Test
    void anOutOfStepStreamEndsOnlyThatConnection() {
        try (dev.panda.pmd.virtio.vhostuser.UnixSocket raw = dev.panda.pmd.virtio.vhostuser.UnixSocket.connect(sock);
                java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            // GET_FEATURES announcing a payload far above any the protocol defines
            MemorySegment bad = arena.allocate(12);
            bad.set(ValueLayout.JAVA_INT, 0, 1);
            bad.set(ValueLayout.JAVA_INT, 4, 1);
            bad.set(ValueLayout.JAVA_INT, 8, 1 << 30);
            raw.send(bad, java.util.List.of());
            assertEquals(0, raw.recv(arena.allocate(16), 0).bytes(), "panda closes the connection");
        }
        try (TestFrontend fe = new TestFrontend(sock, 64).start()) {
            awaitLinkUp();
            assertTrue(fe.send(0, 64, 0));
            fe.txq.publish();
            assertEquals(1, receive(new PacketBurst(8), 1, 0, new int[] {64}));
        }
    }

    @Test
    void aMemoryTableBeyondItsFileIsRefused() {
        try (TestFrontend fe = new TestFrontend(sock, 64).start()) {
            assertNotEquals(
                    0,
                    fe.ackStatus(new dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemTable(
                            requestFlags(true),
                            java.util.List.of(new dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemoryRegion(
                                    TestFrontend.GPA, fe.mem.byteSize() * 2, fe.mem.address(), 0)),
                            java.util.List.of(fe.memfd))));
            // the old table stays in force: traffic still flows
            awaitLinkUp();
            assertTrue(fe.send(0, 64, 0));
            fe.txq.publish();
            assertEquals(1, receive(new PacketBurst(8), 1, 0, new int[] {64}));
        }
    }

    @Test
    void badDeviceStringsSayWhatIsWrong() {
        PortContext ctx = PortContext.of(pool, 1);
        DeviceException e =
                assertThrows(DeviceException.class, () -> Ports.discover().open("net_vhost1", ctx));
        assertTrue(e.getMessage().contains("iface"), e.getMessage());
        e = assertThrows(DeviceException.class, () -> Ports.discover().open("net_vhost1,iface=" + sock, ctx));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        assertThrows(DeviceException.class, () -> Ports.discover().open("net_vhost1,iface=x,queues=0", ctx));
    }

    @Test
    void packedAndInOrderDevargsWithholdThem() throws Exception {
        Path sock2 = dir.resolve("vh-split.sock");
        try (Port split = Ports.discover()
                        .open("net_vhost1,iface=" + sock2 + ",packed=0,in_order=0", PortContext.of(pool, 1));
                TestFrontend fe = new TestFrontend(sock2, 256).start()) {
            long offered = fe.query(VhostUserRequest.GET_FEATURES);
            assertEquals(0, offered & (bit(F_RING_PACKED) | bit(F_IN_ORDER)), "0x" + Long.toHexString(offered));
            assertEquals(bit(F_EVENT_IDX), offered & bit(F_EVENT_IDX), "the rest still offered");
        }
    }

    private void awaitLinkUp() {
        awaitLink(true);
    }

    private void awaitLink(boolean up) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (port.link().up() != up) {
            assertTrue(System.nanoTime() < deadline, "link never went " + (up ? "up" : "down"));
            Thread.onSpinWait();
        }
    }

    /**
     * The open descriptor count once it has stayed the same for 200 ms, or has become
     * {@code expected} (at most 5 s).
     */
    private static long settledFds(long expected) throws IOException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        long last = openFds();
        long since = System.nanoTime();
        while (last != expected && System.nanoTime() < deadline) {
            if (System.nanoTime() - since > 200_000_000L) {
                return last;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return last;
            }
            long now = openFds();
            if (now != last) {
                last = now;
                since = System.nanoTime();
            }
        }
        return last;
    }

    private static long openFds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }
}
