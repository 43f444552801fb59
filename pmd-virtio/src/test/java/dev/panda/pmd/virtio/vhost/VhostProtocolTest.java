package dev.panda.pmd.virtio.vhost;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_LOG_ALL;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_RING_PACKED;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_VERSION_1;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;
import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.requestFlags;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.vhostuser.UnixSocket;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.LogBase;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.LogFd;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.U64;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringAddr;
import dev.panda.pmd.virtio.vhostuser.VhostUserRequest;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * net_vhost's protocol messages beyond set-up, driven by {@link TestFrontend}: dirty-page logging
 * (VHOST_F_LOG_ALL, SET_LOG_BASE with LOG_SHMFD, SET_LOG_FD; vhost-user.rst "Migration"),
 * SET_STATUS/GET_STATUS (VHOST_USER_PROTOCOL_F_STATUS) and requests panda does not know.
 */
class VhostProtocolTest {

    @TempDir
    Path dir;

    PacketPool pool;
    Path sock;
    VhostPort port;

    @BeforeEach
    void open() {
        pool = PacketPool.create(PoolConfig.defaults().withCount(1024).withHugepages(PoolConfig.Hugepages.OFF));
        sock = dir.resolve("vh.sock");
        port = (VhostPort) Ports.discover().open("net_vhost0,iface=" + sock, PortContext.of(pool, 0));
    }

    @AfterEach
    void close() {
        port.close();
        assertEquals(pool.capacity(), pool.available(), "every buffer back in the pool");
        pool.close();
    }

    /** A log memfd covering the front-end's guest-physical range, mapped here to read the bits. */
    private record Log(Fd fd, MemorySegment bits) implements AutoCloseable {
        static Log covering(TestFrontend fe) {
            long pages = (TestFrontend.GPA + fe.mem.byteSize()) / DirtyLog.PAGE + 1;
            long bytes = (pages / 8 + 8) & -8L;
            Fd fd = Posix.memfdCreate("panda-test-log", Posix.MFD_CLOEXEC);
            Posix.ftruncate(fd, bytes);
            return new Log(fd, Posix.mmap(bytes, Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_SHARED, fd, 0));
        }

        boolean dirty(long gpa) {
            long page = gpa / DirtyLog.PAGE;
            return (bits.get(ValueLayout.JAVA_BYTE, page / 8) & (1 << (page % 8))) != 0;
        }

        long count() {
            long n = 0;
            for (long i = 0; i < bits.byteSize(); i += 8) {
                n += Long.bitCount(bits.get(ValueLayout.JAVA_LONG, i));
            }
            return n;
        }

        @Override
        public void close() {
            Posix.munmap(bits);
            fd.close();
        }
    }

    private static void setLogBase(TestFrontend fe, Log log) {
        fe.send(new LogBase(requestFlags(false), log.bits.byteSize(), 0, log.fd));
        assertEquals(0, ((U64) fe.reply(VhostUserRequest.SET_LOG_BASE)).value(), "SET_LOG_BASE answered with 0");
    }

    /** Re-sends vring 0's addresses with VHOST_VRING_F_LOG and its used ring's guest address. */
    private static void logUsedRing(TestFrontend fe) {
        fe.ack(new VringAddr(
                requestFlags(true),
                0,
                1,
                fe.uva(fe.rxq.descAddr()),
                fe.uva(fe.rxq.usedAddr()),
                fe.uva(fe.rxq.availAddr()),
                fe.rxq.usedAddr()));
    }

    private int transmit(int n, int len) {
        PacketBurst burst = new PacketBurst(32);
        int got = pool.allocBulk(burst.handles, 0, n);
        for (int i = 0; i < got; i++) {
            pool.setLength(burst.handles[i], len);
        }
        int sent = port.txBurst(0, burst, got);
        pool.freeBulk(burst.handles, sent, got - sent);
        return sent;
    }

    @Test
    void loggingMarksTheReceiveBuffersAndUsedRingPanadaWrote() {
        TestFrontend fe = new TestFrontend(sock, 64, 0, bit(F_LOG_ALL));
        fe.wantProtocol = VhostBackend.P_LOG_SHMFD;
        try (fe;
                Log log = Log.covering(fe)) {
            fe.start();
            awaitLinkUp();
            assertEquals(VhostBackend.P_LOG_SHMFD, fe.protocol & VhostBackend.P_LOG_SHMFD, "LOG_SHMFD offered");
            logUsedRing(fe);
            setLogBase(fe, log);
            Fd eventfd = Posix.eventfd(0, Posix.EFD_CLOEXEC);
            fe.ack(new LogFd(requestFlags(true), eventfd));
            eventfd.close();
            awaitLinkUp();
            fe.postRx(0, 8);
            assertEquals(4, transmit(4, 1000));
            for (int i = 0; i < 8; i++) {
                long gpa = TestFrontend.GPA + fe.rxBuffers + (long) i * TestFrontend.BUF;
                assertEquals(i < 4, log.dirty(gpa), "page of receive buffer " + i);
            }
            assertTrue(log.dirty(fe.rxq.usedAddr()), "the used ring's page");
            assertFalse(log.dirty(TestFrontend.GPA + fe.txBuffers), "a page panda never wrote");
            assertFalse(log.dirty(fe.txq.usedAddr()), "vring 1 did not ask for used ring logging");
            long marked = log.count();
            assertTrue(marked >= 3 && marked <= 8, marked + " pages marked for 4 KB of frames and one used ring");
        }
    }

    @Test
    void packedLoggingMarksTheDescriptorRingTheUsedDescriptorsWentTo() {
        // 512 entries: an 8 KiB descriptor ring on two pages and the device event area on the
        // third, so the ring's first page is dirty only if the used descriptors are logged
        TestFrontend fe = new TestFrontend(sock, 512, 0, bit(F_LOG_ALL) | bit(F_RING_PACKED));
        fe.wantProtocol = VhostBackend.P_LOG_SHMFD;
        try (fe;
                Log log = Log.covering(fe)) {
            fe.start();
            awaitLinkUp();
            assertNotEquals(
                    fe.descAddr(0) / DirtyLog.PAGE, fe.usedAddr(0) / DirtyLog.PAGE, "ring and event area apart");
            fe.ack(new VringAddr(
                    requestFlags(true),
                    0,
                    1,
                    fe.uva(fe.descAddr(0)),
                    fe.uva(fe.usedAddr(0)),
                    fe.uva(fe.availAddr(0)),
                    fe.usedAddr(0)));
            setLogBase(fe, log);
            awaitLinkUp();
            fe.postRx(0, 8);
            assertEquals(4, transmit(4, 1000));
            int[] tokens = new int[8];
            int[] lens = new int[8];
            assertEquals(4, fe.harvestRx(tokens, lens), "the guest's packed ring returned the four frames");
            for (int i = 0; i < 8; i++) {
                long gpa = TestFrontend.GPA + fe.rxBuffers + (long) i * TestFrontend.BUF;
                assertEquals(i < 4, log.dirty(gpa), "page of receive buffer " + i);
            }
            assertTrue(log.dirty(fe.descAddr(0)), "the descriptor ring's page, where the used descriptors went");
            assertTrue(log.dirty(fe.usedAddr(0)), "the device event area's page (log_guest_addr)");
            assertFalse(log.dirty(TestFrontend.GPA + fe.txBuffers), "a page panda never wrote");
            assertFalse(log.dirty(fe.descAddr(1)), "vring 1 did not ask for used logging");
        }
    }

    @Test
    void aLogWithoutLogAllStaysClean() {
        TestFrontend fe = new TestFrontend(sock, 64, 0, 0);
        fe.wantProtocol = VhostBackend.P_LOG_SHMFD;
        try (fe;
                Log log = Log.covering(fe)) {
            fe.start();
            awaitLinkUp();
            logUsedRing(fe);
            setLogBase(fe, log);
            awaitLinkUp();
            fe.postRx(0, 8);
            assertEquals(4, transmit(4, 1000));
            assertEquals(0, log.count(), "VHOST_F_LOG_ALL not negotiated: nothing logged");
            // turning LOG_ALL on mid-run republishes the rings with the log
            fe.ack(new U64(VhostUserRequest.SET_FEATURES, requestFlags(true), fe.negotiated | bit(F_LOG_ALL)));
            awaitLinkUp();
            assertEquals(4, transmit(4, 100));
            assertTrue(log.dirty(TestFrontend.GPA + fe.rxBuffers + 4L * TestFrontend.BUF));
            assertFalse(log.dirty(TestFrontend.GPA + fe.rxBuffers), "written before logging began");
        }
    }

    @Test
    void aLogTooSmallForItsFileIsRefusedAndTheConnectionGoesOn() {
        TestFrontend fe = new TestFrontend(sock, 64, 0, bit(F_LOG_ALL));
        fe.wantProtocol = VhostBackend.P_LOG_SHMFD;
        try (fe) {
            fe.start();
            Fd small = Posix.memfdCreate("panda-test-log", Posix.MFD_CLOEXEC);
            Posix.ftruncate(small, 4096);
            fe.send(new LogBase(requestFlags(false), 1 << 20, 0, small));
            small.close();
            assertNotEquals(0, ((U64) fe.reply(VhostUserRequest.SET_LOG_BASE)).value(), "a log past its file's end");
            assertTrue(port.protocolErrors() >= 1);
            awaitLinkUp();
            fe.postRx(0, 2);
            assertEquals(2, transmit(2, 64), "the device still works, without a log");
        }
    }

    @Test
    void statusIsStoredAndReadBack() {
        TestFrontend fe = new TestFrontend(sock, 64);
        fe.wantProtocol = VhostBackend.P_STATUS;
        try (fe) {
            fe.start();
            assertEquals(VhostBackend.P_STATUS, fe.protocol & VhostBackend.P_STATUS, "STATUS offered");
            // ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK, as DPDK's virtio-user sets them in turn
            for (long s : new long[] {1, 3, 11, 15}) {
                fe.ack(new U64(VhostUserRequest.SET_STATUS, requestFlags(true), s));
                assertEquals(s, fe.query(VhostUserRequest.GET_STATUS));
            }
            fe.ack(new U64(VhostUserRequest.SET_STATUS, requestFlags(true), 0));
            assertEquals(0, fe.query(VhostUserRequest.GET_STATUS), "reset");
        }
    }

    @Test
    void unknownRequestsAreCountedAndNackedAndTheConnectionGoesOn() {
        try (TestFrontend fe = new TestFrontend(sock, 64).start()) {
            long before = port.protocolErrors();
            UnixSocket s = fe.channel.socket();
            try (Arena arena = Arena.ofConfined()) {
                for (int id : new int[] {99, 41, 1000}) {
                    MemorySegment m = arena.allocate(20, 8);
                    m.set(ValueLayout.JAVA_INT, 0, id);
                    m.set(ValueLayout.JAVA_INT, 4, requestFlags(true));
                    m.set(ValueLayout.JAVA_INT, 8, 8);
                    m.set(ValueLayout.JAVA_LONG_UNALIGNED, 12, 0x1234);
                    s.send(m, java.util.List.of());
                    MemorySegment r = arena.allocate(20, 8);
                    long got = 0;
                    while (got < 20) {
                        UnixSocket.Received rcv = s.recv(r.asSlice(got), 0);
                        assertTrue(rcv.bytes() > 0, "connection closed instead of a NACK");
                        got += rcv.bytes();
                    }
                    assertEquals(id, r.get(ValueLayout.JAVA_INT, 0), "the NACK names request " + id);
                    assertEquals(VhostUserMessage.REPLY, r.get(ValueLayout.JAVA_INT, 4) & VhostUserMessage.REPLY);
                    assertNotEquals(0, r.get(ValueLayout.JAVA_LONG_UNALIGNED, 12), "a failed REPLY_ACK status");
                }
                // without NEED_REPLY: no answer, only the counter
                MemorySegment m = arena.allocate(12, 8);
                m.set(ValueLayout.JAVA_INT, 0, 77);
                m.set(ValueLayout.JAVA_INT, 4, requestFlags(false));
                s.send(m, java.util.List.of());
            }
            assertEquals(
                    bit(F_VERSION_1),
                    fe.query(VhostUserRequest.GET_FEATURES) & bit(F_VERSION_1),
                    "the next request is answered");
            assertEquals(before + 4, port.protocolErrors());
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
