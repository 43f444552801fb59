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

    @Test
    void packedVqIsRefusedOnTheKernelsVhostNet() throws Exception {
        try (PacketPool pool = pool()) {
            DeviceException e = assertThrows(
                    DeviceException.class,
                    () -> Ports.discover()
                            .open("net_virtio_user0,path=/dev/vhost-net,packed_vq=1", PortContext.of(pool, 0)));
            assertTrue(e.getMessage().contains("packed_vq=1 is for vhost-user"), e.getMessage());
            assertEquals(pool.capacity(), pool.available());
        }
    }

    /**
     * Packed rings (packed_vq=1): the back-end marks used, on the receive ring, a descriptor with
     * an id out of range, then a buffer in flight (out of order) with a length far past it, then
     * the same id again. Two bad ids and one bad length are counted, the real buffer arrives
     * clamped, and every buffer (the ones the back-end never returned too) is back after close.
     */
    @Test
    void bogusPackedUsedDescriptorsAreCountedAndNoBufferIsLost() throws Exception {
        Path sock = dir.resolve("hostile-packed.sock");
        MemTable[] table = new MemTable[1];
        VringAddr[] addrs = new VringAddr[2];
        int[] base = {-1, -1};
        CountDownLatch ready = new CountDownLatch(1);
        long offer = VERSION_1 | VirtioFeatures.bit(VirtioFeatures.F_RING_PACKED);
        try (PacketPool pool = pool();
                UnixSocket listener = UnixSocket.listen(sock, 1)) {
            Thread t = backEnd(listener, (ch, m) -> {
                switch (m.request()) {
                    case GET_FEATURES -> ch.send(U64.reply(VhostUserRequest.GET_FEATURES, offer));
                    case SET_MEM_TABLE -> table[0] = (MemTable) m; // keeps its fds
                    case SET_VRING_ADDR -> addrs[((VringAddr) m).index()] = (VringAddr) m;
                    case SET_VRING_BASE -> base[((VringState) m).index()] = ((VringState) m).num();
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
            Port port = Ports.discover()
                    .open("net_virtio_user0,path=" + sock + ",queue_size=64,packed_vq=1", PortContext.of(pool, 0));
            MemorySegment rings = null;
            try {
                assertTrue(ready.await(5, TimeUnit.SECONDS), "set-up never finished");
                assertTrue(
                        VirtioFeatures.has(((VirtioUserPort) port).features(), VirtioFeatures.F_RING_PACKED),
                        "packed rings negotiated");
                assertEquals(0x8000, base[0], "VRING_BASE: index 0, wrap counter 1 (bit 15)");
                assertEquals(0x8000, base[1]);
                MemoryRegion r = table[0].regions().get(1);
                Fd fd = table[0].fds().get(1);
                rings = Posix.mmap(r.memorySize(), Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_SHARED, fd, 0);
                MemorySegment desc = rings.asSlice(addrs[0].descAddr() - r.userspaceAddr());
                // the avail address carries the driver event area: right after the 64 descriptors
                assertEquals(addrs[0].descAddr() + 64 * 16, addrs[0].availAddr());
                assertEquals(addrs[0].availAddr() + 4, addrs[0].usedAddr());
                // pvirtq_desc {addr u64, len u32, id u16, flags u16}; used with wrap 1: AVAIL | USED
                short used = (short) 0x8080;
                used(desc, 0, 999, 100, used); // an id the driver never gave out
                used(desc, 1, 5, 0xFFFF_FFF0, used); // buffer 5, out of order, far too long
                used(desc, 2, 5, 100, used); // buffer 5 again: no longer in flight
                PacketBurst burst = new PacketBurst(32);
                assertEquals(1, port.rxBurst(0, burst));
                int h = burst.handles[0];
                assertEquals(pool.dataRoom(), pool.length(h), "the length is clamped to the buffer");
                pool.free(h);
                assertEquals(3, port.stats().ierrors(), "two bad ids and one bad length counted");
                assertEquals(0, port.rxBurst(0, burst), "nothing more marked used");
                assertEquals(3, port.stats().ierrors());
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

    /** Writes a used packed descriptor at {@code slot}: id and len first, the flags last. */
    private static void used(MemorySegment desc, int slot, int id, int len, short flags) {
        long at = slot * 16L;
        desc.set(ValueLayout.JAVA_INT_UNALIGNED, at + 8, len);
        desc.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 12, (short) id);
        VarHandle.fullFence();
        desc.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 14, flags);
    }
}
