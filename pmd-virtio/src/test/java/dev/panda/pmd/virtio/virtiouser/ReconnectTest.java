package dev.panda.pmd.virtio.virtiouser;

import static dev.panda.pmd.virtio.virtiouser.VirtioUserPortTest.move;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.pmd.virtio.vhostuser.Leaks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Connection lifecycle in one process, panda against panda with two queue pairs: each side goes
 * away and comes back several times (client modes reconnect, server modes accept again), traffic
 * moves on both queue pairs after every return, the side left behind gets every buffer back and
 * its link down, and descriptors and mappings return to where they were.
 */
class ReconnectTest {

    private static final int CYCLES = 3;
    /** Lines of /proc/self/maps that map a memfd: pools, rings, and the peer's memory panda mapped. */
    private static final LongSupplier MEMFD_MAPPINGS = () -> Leaks.mappingsContaining("/memfd:");

    private static final int FRAMES = 600; // more than a ring of 256: descriptors recycled

    @TempDir
    Path dir;

    private static PacketPool pool() {
        return PacketPool.create(PoolConfig.defaults().withCount(4096).withHugepages(PoolConfig.Hugepages.OFF));
    }

    @Test
    void virtioUserServerAndVhostClientEachGoAwayAndComeBack() {
        Path sock = dir.resolve("srv.sock");
        String virtioSpec = "net_virtio_user3,path=" + sock + ",server=1,queues=2";
        String vhostSpec = "net_vhost3,iface=" + sock + ",client=1,queues=2";
        try (PacketPool up = pool();
                PacketPool hp = pool()) {
            Port virtio = Ports.discover().open(virtioSpec, PortContext.of(up, 0));
            Port vhost = null;
            try {
                assertFalse(virtio.link().up(), "server mode: no back-end yet, link down");
                vhost = Ports.discover().open(vhostSpec, PortContext.of(hp, 1));
                awaitUp(virtio, vhost);
                traffic(virtio, up, vhost, hp);
                long fds = Leaks.openFds();
                long maps = MEMFD_MAPPINGS.getAsLong();
                for (int i = 0; i < CYCLES; i++) {
                    // the back-end (vhost client) goes away: virtio-user takes every buffer back and waits
                    vhost.close();
                    Port v = virtio;
                    await(() -> !v.link().up(), "virtio-user link down after its back-end left");
                    await(() -> up.available() == up.capacity(), "every buffer back in virtio-user's pool");
                    assertEquals(hp.capacity(), hp.available());
                    vhost = Ports.discover().open(vhostSpec, PortContext.of(hp, 1));
                    awaitUp(virtio, vhost);
                    traffic(virtio, up, vhost, hp);
                }
                assertTrue(
                        ((VirtioUserPort) virtio).buffersReclaimed() >= CYCLES * 2 * 256L,
                        "receive buffers posted to the back-end came back at each disconnect");
                assertEquals(CYCLES, ((VirtioUserPort) virtio).disconnects());
                for (int i = 0; i < CYCLES; i++) {
                    // the front-end (virtio-user server) goes away: the vhost client reconnects with backoff
                    virtio.close();
                    Port h = vhost;
                    await(() -> !h.link().up(), "vhost link down after its front-end left");
                    assertEquals(up.capacity(), up.available());
                    virtio = Ports.discover().open(virtioSpec, PortContext.of(up, 0));
                    awaitUp(virtio, vhost);
                    traffic(virtio, up, vhost, hp);
                }
                awaitEqual(fds, Leaks::openFds, "open descriptors");
                awaitEqual(maps, MEMFD_MAPPINGS, "memfd mappings");
            } finally {
                virtio.close();
                if (vhost != null) {
                    vhost.close();
                }
            }
            assertEquals(up.capacity(), up.available(), "virtio-user buffers leaked");
            assertEquals(hp.capacity(), hp.available(), "vhost buffers leaked");
            assertFalse(Files.exists(sock), "the listener's path is removed on close");
        }
    }

    @Test
    void virtioUserClientAndVhostServerEachGoAwayAndComeBack() {
        Path sock = dir.resolve("cli.sock");
        String virtioSpec = "net_virtio_user4,path=" + sock + ",queues=2";
        String vhostSpec = "net_vhost4,iface=" + sock + ",queues=2";
        try (PacketPool up = pool();
                PacketPool hp = pool()) {
            Port vhost = Ports.discover().open(vhostSpec, PortContext.of(hp, 1));
            Port virtio = null;
            try {
                virtio = Ports.discover().open(virtioSpec, PortContext.of(up, 0));
                awaitUp(virtio, vhost);
                traffic(virtio, up, vhost, hp);
                long fds = Leaks.openFds();
                long maps = MEMFD_MAPPINGS.getAsLong();
                for (int i = 0; i < CYCLES; i++) {
                    // the back-end (vhost server) goes away: virtio-user reconnects with backoff
                    vhost.close();
                    Port v = virtio;
                    await(() -> !v.link().up(), "virtio-user link down after its back-end left");
                    await(() -> up.available() == up.capacity(), "every buffer back in virtio-user's pool");
                    vhost = Ports.discover().open(vhostSpec, PortContext.of(hp, 1));
                    awaitUp(virtio, vhost);
                    traffic(virtio, up, vhost, hp);
                }
                for (int i = 0; i < CYCLES; i++) {
                    // the front-end (virtio-user client) goes away: the vhost server accepts the next one
                    virtio.close();
                    Port h = vhost;
                    await(() -> !h.link().up(), "vhost link down after its front-end left");
                    virtio = Ports.discover().open(virtioSpec, PortContext.of(up, 0));
                    awaitUp(virtio, vhost);
                    traffic(virtio, up, vhost, hp);
                }
                awaitEqual(fds, Leaks::openFds, "open descriptors");
                awaitEqual(maps, MEMFD_MAPPINGS, "memfd mappings");
            } finally {
                if (virtio != null) {
                    virtio.close();
                }
                vhost.close();
            }
            assertEquals(up.capacity(), up.available(), "virtio-user buffers leaked");
            assertEquals(hp.capacity(), hp.available(), "vhost buffers leaked");
        }
    }

    @Test
    void closingAPortThatStillWaitsForItsPeerIsPromptAndLeavesNothingBehind() {
        try (PacketPool pool = pool()) {
            long fds = Leaks.openFds();
            for (String spec : new String[] {
                "net_vhost5,iface=" + dir.resolve("nobody-listens.sock") + ",client=1", // dialing, backing off
                "net_virtio_user5,path=" + dir.resolve("nobody-connects.sock") + ",server=1", // accepting
                "net_vhost6,iface=" + dir.resolve("nobody-connects-either.sock")
            }) { // accepting
                Port p = Ports.discover().open(spec, PortContext.of(pool, 0));
                sleep(700); // a dialing port is several attempts into its backoff by now
                assertFalse(p.link().up(), spec);
                long t0 = System.nanoTime();
                p.close();
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(ms < 1_000, spec + ": close took " + ms + " ms; the wait or backoff sleep was not woken");
            }
            awaitEqual(fds, Leaks::openFds, "open descriptors");
            assertEquals(pool.capacity(), pool.available());
            try (var left = Files.list(dir)) {
                assertEquals(0, left.count(), "sockets left behind in " + dir);
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        }
    }

    /** Frames both ways on both queue pairs, content and order checked. */
    private static void traffic(Port virtio, PacketPool up, Port vhost, PacketPool hp) {
        for (int q = 0; q < 2; q++) {
            move(virtio, up, vhost, hp, q, FRAMES);
            move(vhost, hp, virtio, up, q, FRAMES);
        }
    }

    private static void awaitUp(Port a, Port b) {
        await(() -> a.link().up() && b.link().up(), "both links up");
    }

    static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            sleep(10);
        }
    }

    /** Waits (up to 10 s) for a count to come back to {@code baseline}: threads may still be releasing. */
    static void awaitEqual(long baseline, LongSupplier now, String what) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        long n = now.getAsLong();
        while (n != baseline && System.nanoTime() < deadline) {
            sleep(50);
            n = now.getAsLong();
        }
        assertEquals(baseline, n, what + " after the cycles vs before");
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
