package dev.panda.pmd.virtio.virtiouser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.ring.VirtioFeatures;
import dev.panda.pmd.virtio.vhostuser.DecodeResult;
import dev.panda.pmd.virtio.vhostuser.UnixSocket;
import dev.panda.pmd.virtio.vhostuser.VhostUserChannel;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemTable;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemoryRegion;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.U64;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringAddr;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringState;
import dev.panda.pmd.virtio.vhostuser.VhostUserRequest;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * net_virtio_user against back-ends that misbehave: refused features, a connection dropped in
 * the middle of set-up, and a used ring with a bogus id, an absurd length and an index jump.
 * Each is a clear error or a counted one; no buffer is lost or freed twice.
 */
class VirtioUserHostileBackEndTest {

    private static final long VERSION_1 = VirtioFeatures.bit(VirtioFeatures.F_VERSION_1);

    @TempDir
    Path dir;

    /** A scripted back-end: {@code handler} gets each request and returns false to hang up. */
    private static Thread backEnd(UnixSocket listener, BiPredicate<VhostUserChannel, VhostUserMessage> handler) {
        return Thread.ofPlatform().daemon().name("fake-vhost").start(() -> {
            try (UnixSocket c = listener.accept();
                    VhostUserChannel ch = new VhostUserChannel(c)) {
                while (true) {
                    if (!(ch.readRequest() instanceof DecodeResult.Ok ok) || !handler.test(ch, ok.message())) {
                        return;
                    }
                }
            } catch (RuntimeException ignored) {
                // the port hung up
            }
        });
    }

    private static PacketPool pool() {
        return PacketPool.create(PoolConfig.defaults().withCount(1024).withHugepages(PoolConfig.Hugepages.OFF));
    }

    @Test
    void backEndWithoutVersion1IsRefused() throws Exception {
        Path sock = dir.resolve("legacy.sock");
        try (PacketPool pool = pool();
                UnixSocket listener = UnixSocket.listen(sock, 1)) {
            Thread t = backEnd(listener, (ch, m) -> {
                m.close();
                if (m.request() == VhostUserRequest.GET_FEATURES) {
                    ch.send(U64.reply(VhostUserRequest.GET_FEATURES, 1L << 30)); // no VERSION_1
                }
                return true;
            });
            DeviceException e = assertThrows(
                    DeviceException.class,
                    () -> Ports.discover().open("net_virtio_user0,path=" + sock, PortContext.of(pool, 0)));
            assertTrue(e.getMessage().contains("VERSION_1"), e.getMessage());
            assertEquals(pool.capacity(), pool.available());
            t.join(5000);
        }
    }

    @Test
    void backEndHangingUpDuringSetUpIsADeviceError() throws Exception {
        Path sock = dir.resolve("hangup.sock");
        try (PacketPool pool = pool();
                UnixSocket listener = UnixSocket.listen(sock, 1)) {
            Thread t = backEnd(listener, (ch, m) -> {
                m.close();
                return m.request() != VhostUserRequest.GET_FEATURES; // hang up instead of answering
            });
            DeviceException e = assertThrows(
                    DeviceException.class,
                    () -> Ports.discover().open("net_virtio_user0,path=" + sock, PortContext.of(pool, 0)));
            assertTrue(e.getMessage().contains("GET_FEATURES"), e.getMessage());
            assertEquals(pool.capacity(), pool.available());
            t.join(5000);
        }
    }

    @Test
    void bogusUsedEntriesAreCountedAndNoBufferIsLost() throws Exception {
        Path sock = dir.resolve("hostile.sock");
        MemTable[] table = new MemTable[1];
        VringAddr[] addrs = new VringAddr[2];
        CountDownLatch ready = new CountDownLatch(1);
        try (PacketPool pool = pool();
                UnixSocket listener = UnixSocket.listen(sock, 1)) {
            Thread t = backEnd(listener, (ch, m) -> {
                switch (m.request()) {
                    case GET_FEATURES -> ch.send(U64.reply(VhostUserRequest.GET_FEATURES, VERSION_1));
                    case SET_MEM_TABLE -> table[0] = (MemTable) m; // keeps its fds
                    case SET_VRING_ADDR -> addrs[((VringAddr) m).index()] = (VringAddr) m;
                    case SET_VRING_KICK -> {
                        m.close();
                        if (((VhostUserMessage.VringFd) m).index() == 1) {
                            ready.countDown();
                        }
                    }
                    case GET_VRING_BASE ->
                        ch.send(VringState.reply(VhostUserRequest.GET_VRING_BASE, ((VringState) m).index(), 0));
                    default -> m.close();
                }
                return true;
            });
            Port port =
                    Ports.discover().open("net_virtio_user0,path=" + sock + ",queue_size=64", PortContext.of(pool, 0));
            MemorySegment rings = null;
            try {
                assertTrue(ready.await(5, TimeUnit.SECONDS), "set-up never finished");
                MemoryRegion r = table[0].regions().get(1);
                Fd fd = table[0].fds().get(1);
                rings = Posix.mmap(r.memorySize(), Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_SHARED, fd, 0);
                MemorySegment used = rings.asSlice(addrs[0].usedAddr() - r.userspaceAddr());
                // used ring of the receive queue: {flags u16, idx u16, ring[] {id u32, len u32}}
                used.set(ValueLayout.JAVA_INT, 4, 999); // an id the driver never posted
                used.set(ValueLayout.JAVA_INT, 8, 100);
                used.set(ValueLayout.JAVA_INT, 12, 0); // a real chain ...
                used.set(ValueLayout.JAVA_INT, 16, 0xFFFF_FFF0); // ... with a length far past its buffer
                VarHandle.fullFence();
                used.set(ValueLayout.JAVA_SHORT, 2, (short) 2);
                PacketBurst burst = new PacketBurst(32);
                assertEquals(1, port.rxBurst(0, burst));
                int h = burst.handles[0];
                assertEquals(pool.dataRoom(), pool.length(h), "the length is clamped to the buffer");
                pool.free(h);
                assertEquals(2, port.stats().ierrors(), "bad id and bad length counted");
                used.set(ValueLayout.JAVA_SHORT, 2, (short) 1000); // more used than in flight
                assertEquals(0, port.rxBurst(0, burst));
                assertEquals(0, port.rxBurst(0, burst));
                assertEquals(3, port.stats().ierrors(), "the index jump counted once");
                assertEquals(1, port.stats().ipackets());
            } finally {
                port.close();
                if (rings != null) {
                    Posix.munmap(rings);
                }
                if (table[0] != null) {
                    table[0].close();
                }
            }
            assertEquals(0, pool.doubleFrees());
            assertEquals(pool.capacity(), pool.available(), "buffers lost");
            t.join(5000);
        }
    }
}
