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
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.port.Ports;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** panda's net_virtio_user against panda's net_vhost in one process: frames both ways, content checked. */
class VirtioUserPortTest {

    @TempDir
    Path dir;

    static PacketPool pool(PoolConfig.Hugepages huge) {
        return PacketPool.create(PoolConfig.defaults().withCount(4096).withHugepages(huge));
    }

    /** Opens net_vhost on a fresh socket, then net_virtio_user against it, and waits for the link. */
    static Port[] pair(Path sock, PacketPool vhostPool, PacketPool virtioPool, String extra) {
        Port vhost = Ports.discover().open("net_vhost7,iface=" + sock + extra, PortContext.of(vhostPool, 0));
        Port virtio;
        try {
            virtio = Ports.discover().open("net_virtio_user7,path=" + sock + extra, PortContext.of(virtioPool, 1));
        } catch (RuntimeException e) {
            vhost.close();
            throw e;
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!vhost.link().up() && System.nanoTime() < deadline) {
            Thread.yield();
        }
        assertTrue(vhost.link().up(), "net_vhost never saw a running vring");
        assertTrue(virtio.link().up());
        return new Port[] {vhost, virtio};
    }

    static void fill(PacketPool pool, int h, int len, int seed) {
        pool.setLength(h, len);
        MemorySegment m = pool.segment();
        long off = pool.dataOffset(h);
        for (int b = 0; b < len; b++) {
            m.set(ValueLayout.JAVA_BYTE, off + b, (byte) (seed * 31 + b));
        }
    }

    static void check(PacketPool pool, int h, int len, int seed) {
        assertEquals(len, pool.length(h), "length of frame " + seed);
        MemorySegment m = pool.segment();
        long off = pool.dataOffset(h);
        for (int b = 0; b < len; b++) {
            if (m.get(ValueLayout.JAVA_BYTE, off + b) != (byte) (seed * 31 + b)) {
                throw new AssertionError("frame " + seed + " differs at byte " + b);
            }
        }
    }

    static int len(int i) {
        return 60 + (i * 37) % 1455; // 60 .. 1514
    }

    /** Sends {@code total} frames from {@code from} and checks them in order on {@code to}. */
    static void move(Port from, PacketPool fromPool, Port to, PacketPool toPool, int total) {
        move(from, fromPool, to, toPool, 0, total);
    }

    /** {@link #move(Port, PacketPool, Port, PacketPool, int)} on queue pair {@code queue}. */
    static void move(Port from, PacketPool fromPool, Port to, PacketPool toPool, int queue, int total) {
        PacketBurst out = new PacketBurst(32);
        PacketBurst in = new PacketBurst(32);
        int sent = 0;
        int got = 0;
        int pending = 0; // handles[0..pending) filled and not yet taken
        long idle = 0;
        while (got < total) {
            if (sent < total && pending == 0) {
                int want = Math.min(32, total - sent);
                int n = fromPool.allocBulk(out.handles, 0, want);
                for (int i = 0; i < n; i++) {
                    fill(fromPool, out.handles[i], len(sent + i), sent + i);
                }
                pending = n;
            }
            if (pending > 0) {
                int k = from.txBurst(queue, out, pending);
                System.arraycopy(out.handles, k, out.handles, 0, pending - k);
                sent += k;
                pending -= k;
            }
            int r = to.rxBurst(queue, in);
            for (int i = 0; i < r; i++) {
                check(toPool, in.handles[i], len(got), got);
                got++;
            }
            toPool.freeBulk(in.handles, 0, r);
            if (r == 0 && ++idle > 5_000_000) {
                throw new AssertionError("stuck: sent " + sent + ", received " + got);
            }
            if (r == 0) {
                Thread.yield();
            }
        }
        fromPool.freeBulk(out.handles, 0, pending);
        assertEquals(total, sent);
    }

    @Test
    void framesBothWaysWithContentAgainstPandaVhost() {
        Path sock = dir.resolve("vu.sock");
        try (PacketPool hp = pool(PoolConfig.Hugepages.OFF);
                PacketPool vp = pool(PoolConfig.Hugepages.OFF)) {
            Port[] p = pair(sock, hp, vp, "");
            Port vhost = p[0];
            Port virtio = p[1];
            try {
                int total = 3000; // more than the ring (256): descriptors are recycled many times
                move(virtio, vp, vhost, hp, total);
                move(vhost, hp, virtio, vp, total);
                long bytes = 0;
                for (int i = 0; i < total; i++) {
                    bytes += len(i);
                }
                PortStats s = virtio.stats();
                assertEquals(total, s.opackets());
                assertEquals(bytes, s.obytes());
                assertEquals(total, s.ipackets());
                assertEquals(bytes, s.ibytes());
                assertEquals(0, s.ierrors() + s.oerrors());
                PortStats h = vhost.stats();
                assertEquals(total, h.ipackets());
                assertEquals(total, h.opackets());
                assertEquals(0, h.ierrors() + h.oerrors());
            } finally {
                virtio.close();
                vhost.close();
            }
            assertEquals(vp.capacity(), vp.available(), "virtio-user lost buffers");
            assertEquals(hp.capacity(), hp.available(), "vhost lost buffers");
            assertEquals(0, vp.doubleFrees());
        }
    }

    @Test
    void twoQueuePairsAndHugepagePoolIfAvailable() {
        Path sock = dir.resolve("vu2.sock");
        try (PacketPool hp = pool(PoolConfig.Hugepages.OFF);
                PacketPool vp = pool(PoolConfig.Hugepages.AUTO)) {
            Port[] p = pair(sock, hp, vp, ",queues=2");
            Port vhost = p[0];
            Port virtio = p[1];
            try {
                assertEquals(2, virtio.rxQueueCount());
                move(virtio, vp, vhost, hp, 500);
                move(vhost, hp, virtio, vp, 500);
            } finally {
                virtio.close();
                vhost.close();
            }
            assertEquals(vp.capacity(), vp.available());
        }
    }

    @Test
    void poolWithoutHeadroomUsesHeaderChainsAndStillDeliversIntactFrames() {
        Path sock = dir.resolve("vu0.sock");
        try (PacketPool hp = pool(PoolConfig.Hugepages.OFF);
                PacketPool vp = PacketPool.create(new PoolConfig(2048, 0, 2048, PoolConfig.Hugepages.OFF))) {
            Port[] p = pair(sock, hp, vp, "");
            try {
                move(p[1], vp, p[0], hp, 1000); // tx: header descriptor + frame descriptor
                move(p[0], hp, p[1], vp, 1000); // rx: header in the data room, data start moved
                assertEquals(0, p[1].stats().ierrors() + p[1].stats().oerrors());
            } finally {
                p[1].close();
                p[0].close();
            }
            assertEquals(vp.capacity(), vp.available());
            assertEquals(0, vp.doubleFrees());
        }
    }

    @Test
    void noBackEndIsADeviceErrorAndLeavesNothingAllocated() {
        try (PacketPool vp = pool(PoolConfig.Hugepages.OFF)) {
            DeviceException e = assertThrows(
                    DeviceException.class,
                    () -> Ports.discover()
                            .open("net_virtio_user3,path=" + dir.resolve("nobody.sock"), PortContext.of(vp, 0)));
            assertTrue(e.getMessage().contains("net_virtio_user3"), e.getMessage());
            assertEquals(vp.capacity(), vp.available());
            assertThrows(
                    DeviceException.class,
                    () -> Ports.discover()
                            .open(
                                    "net_virtio_user3,path=" + dir.resolve("x") + ",queue_size=100",
                                    PortContext.of(vp, 0)));
            assertThrows(DeviceException.class, () -> Ports.discover().open("net_virtio_user3", PortContext.of(vp, 0)));
        }
    }
}
