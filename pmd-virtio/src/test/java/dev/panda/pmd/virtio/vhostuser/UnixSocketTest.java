package dev.panda.pmd.virtio.vhostuser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.Posix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class UnixSocketTest {

    private static final byte[] HELLO = "vhost-user".getBytes(StandardCharsets.US_ASCII);

    @ParameterizedTest(name = "{0} fds over a socketpair")
    @ValueSource(ints = {0, 1, 3, 8})
    void socketpairCarriesBytesAndFds(int n) {
        long before = Leaks.openFds();
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0];
                UnixSocket b = pair[1]) {
            roundTrip(a, b, n);
        }
        assertEquals(before, Leaks.openFds(), "descriptors leaked");
    }

    @ParameterizedTest(name = "{0} fds over bind/listen/accept/connect")
    @ValueSource(ints = {0, 1, 3, 8})
    void listenerAndClientCarryBytesAndFds(int n, @TempDir Path dir) throws Exception {
        long before = Leaks.openFds();
        Path path = dir.resolve("vh.sock");
        try (UnixSocket listener = UnixSocket.listen(path, 1)) {
            assertTrue(Files.exists(path));
            CompletableFuture<UnixSocket> accepted = CompletableFuture.supplyAsync(listener::accept);
            try (UnixSocket client = UnixSocket.connect(path);
                    UnixSocket server = accepted.get(10, TimeUnit.SECONDS)) {
                roundTrip(client, server, n);
                roundTrip(server, client, n);
            }
        }
        assertFalse(Files.exists(path), "close() removes the listener's path");
        assertEquals(before, Leaks.openFds(), "descriptors leaked");
    }

    /**
     * Sends {@code n} memfds, each with its own number written at offset 0, and checks the
     * received descriptors map the same memory: read what the sender wrote, write back, and
     * see it through the sender's mapping.
     */
    private static void roundTrip(UnixSocket from, UnixSocket to, int n) {
        List<Fd> sent = new ArrayList<>();
        List<MemorySegment> maps = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            for (int i = 0; i < n; i++) {
                Fd fd = Leaks.memfd("uxs-" + i, 4096);
                sent.add(fd);
                MemorySegment m = Leaks.map(fd, 4096, 0);
                m.set(ValueLayout.JAVA_LONG, 0, 1000 + i);
                maps.add(m);
            }
            from.send(MemorySegment.ofArray(HELLO), sent);
            MemorySegment buf = arena.allocate(64);
            UnixSocket.Received r = to.recv(buf, UnixSocket.MAX_FDS);
            assertEquals(HELLO.length, r.bytes());
            assertArrayEquals(HELLO, buf.asSlice(0, r.bytes()).toArray(ValueLayout.JAVA_BYTE));
            assertFalse(r.fdsTruncated());
            assertEquals(n, r.fds().size());
            for (int i = 0; i < n; i++) {
                Fd got = r.fds().get(i);
                assertTrue(got.value() != sent.get(i).value(), "the kernel installs a new descriptor");
                MemorySegment theirs = Leaks.map(got, 4096, 0);
                assertEquals(1000 + i, theirs.get(ValueLayout.JAVA_LONG, 0), "fd " + i + " is the same memory");
                theirs.set(ValueLayout.JAVA_LONG, 8, -i);
                assertEquals(-i, maps.get(i).get(ValueLayout.JAVA_LONG, 8), "written through the received fd");
                Posix.munmap(theirs);
                got.close();
            }
        } finally {
            maps.forEach(Posix::munmap);
            sent.forEach(Fd::close);
        }
    }

    @Test
    void controlTruncationIsReportedAndTheArrivedFdsClosed() {
        long before = Leaks.openFds();
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0];
                UnixSocket b = pair[1];
                Fd memfd = Leaks.memfd("uxs-trunc", 4096);
                Arena arena = Arena.ofConfined()) {
            a.send(MemorySegment.ofArray(HELLO), List.of(memfd, memfd, memfd));
            UnixSocket.Received r = b.recv(arena.allocate(64), 1);
            assertTrue(r.fdsTruncated(), "MSG_CTRUNC");
            assertEquals(List.of(), r.fds());
            assertEquals(HELLO.length, r.bytes(), "the bytes still arrive");
            a.send(MemorySegment.ofArray(HELLO), List.of(memfd));
            r = b.recv(arena.allocate(64), 0);
            assertTrue(r.fdsTruncated(), "no room at all for fds");
        }
        assertEquals(before, Leaks.openFds(), "descriptors leaked");
    }

    @Test
    void peerCloseReadsAsZeroBytes() {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket b = pair[1];
                Arena arena = Arena.ofConfined()) {
            pair[0].close();
            UnixSocket.Received r = b.recv(arena.allocate(16), UnixSocket.MAX_FDS);
            assertEquals(0, r.bytes());
            assertEquals(List.of(), r.fds());
        }
    }

    @Test
    void sendToAClosedPeerIsEpipeNotASignal() {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]) {
            pair[1].close();
            NativeException e =
                    assertThrows(NativeException.class, () -> a.send(MemorySegment.ofArray(HELLO), List.of()));
            assertTrue(e.getMessage().contains("EPIPE"), e.getMessage());
        }
    }

    @Test
    void largeSendsArriveWholeWhileTheReaderDrains() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        byte[] big = new byte[1 << 20];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31);
        }
        try (UnixSocket a = pair[0];
                UnixSocket b = pair[1];
                Arena arena = Arena.ofConfined()) {
            CompletableFuture<Void> sending =
                    CompletableFuture.runAsync(() -> a.send(MemorySegment.ofArray(big), List.of()));
            MemorySegment buf = arena.allocate(big.length);
            long got = 0;
            while (got < big.length) {
                UnixSocket.Received r = b.recv(buf.asSlice(got), 0);
                assertTrue(r.bytes() > 0);
                got += r.bytes();
            }
            sending.get(10, TimeUnit.SECONDS);
            assertArrayEquals(big, buf.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void closeWakesABlockedReader() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]) {
            CompletableFuture<Integer> reading = CompletableFuture.supplyAsync(() -> {
                try (Arena arena = Arena.ofConfined()) {
                    return a.recv(arena.allocate(16), UnixSocket.MAX_FDS).bytes();
                }
            });
            Thread.sleep(100);
            a.shutdown();
            assertEquals(0, reading.get(10, TimeUnit.SECONDS), "end of stream after shutdown");
        } finally {
            pair[1].close();
        }
    }

    @Test
    void misuseFailsClearly(@TempDir Path dir) throws Exception {
        assertThrows(IllegalArgumentException.class, () -> UnixSocket.connect(dir.resolve("x".repeat(120))));
        Path taken = Files.createFile(dir.resolve("taken"));
        NativeException inUse = assertThrows(NativeException.class, () -> UnixSocket.listen(taken, 1));
        assertTrue(inUse.getMessage().contains("EADDRINUSE"), inUse.getMessage());
        NativeException refused = assertThrows(NativeException.class, () -> UnixSocket.connect(dir.resolve("none")));
        assertTrue(refused.getMessage().contains("ENOENT"), refused.getMessage());
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0];
                UnixSocket b = pair[1]) {
            Fd closed = Leaks.memfd("uxs-closed", 16);
            closed.close();
            NativeException ebadf =
                    assertThrows(NativeException.class, () -> a.send(MemorySegment.ofArray(HELLO), List.of(closed)));
            assertTrue(ebadf.getMessage().contains("EBADF"), ebadf.getMessage());
            List<Fd> nine = new ArrayList<>();
            for (int i = 0; i < 9; i++) {
                nine.add(b.fd());
            }
            assertThrows(IllegalArgumentException.class, () -> a.send(MemorySegment.ofArray(HELLO), nine));
        }
        UnixSocket[] other = UnixSocket.pair();
        UnixSocket gone = other[0];
        gone.close();
        gone.close();
        other[1].close();
        assertThrows(NativeException.class, () -> gone.recv(MemorySegment.ofArray(new byte[4]), 0));
    }
}
