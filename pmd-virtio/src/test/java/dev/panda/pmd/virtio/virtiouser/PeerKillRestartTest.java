package dev.panda.pmd.virtio.virtiouser;

import static dev.panda.pmd.virtio.virtiouser.DpdkTestpmd.sleep;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.dataplane.testing.DpdkFiles;
import dev.panda.pmd.virtio.vhostuser.Leaks;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DPDK peer SIGKILLed mid-traffic and restarted, twice, with two queue pairs, for each of
 * panda's four roles: net_vhost as client and as server of DPDK's virtio-user, net_virtio_user
 * as client and as server of DPDK's net_vhost. DPDK 22.11 testpmd sends 64-byte frames in txonly
 * on both queues ({@code --rxq=2 --txq=2}, {@code queues=2} on its vdev); panda polls both. After
 * each restart panda must be connected again without help (client modes reconnect, server modes
 * accept) and frames must arrive on both queue pairs again; the killed peer's buffers are back in
 * the pool, and panda's open descriptors and the mappings of peer memory are back to what they
 * were before the first kill. net_virtio_user's client mode runs once more on packed rings
 * ({@code packed_vq=1}).
 */
@Tag("peer")
class PeerKillRestartTest {

    private static final int QUEUES = 2;
    private static final int KILLS = 2;

    @TempDir
    Path dir;

    @Test
    void netVhostClientReconnectsToARestartedDpdkVirtioUserServer() throws Exception {
        Path sock = dir.resolve("vhc.sock");
        run(
                "vhc",
                "net_vhost0,iface=" + sock + ",client=1,queues=" + QUEUES,
                "net_virtio_user0,path=" + sock + ",server=1,queues=" + QUEUES,
                sock,
                false,
                true);
    }

    @Test
    void netVhostServerAcceptsARestartedDpdkVirtioUser() throws Exception {
        Path sock = dir.resolve("vhs.sock");
        run(
                "vhs",
                "net_vhost0,iface=" + sock + ",queues=" + QUEUES,
                "net_virtio_user0,path=" + sock + ",queues=" + QUEUES,
                sock,
                true,
                true);
    }

    @Test
    void netVirtioUserClientReconnectsToARestartedDpdkVhost() throws Exception {
        Path sock = dir.resolve("vuc.sock");
        run(
                "vuc",
                "net_virtio_user0,path=" + sock + ",queues=" + QUEUES,
                "net_vhost0,iface=" + sock + ",queues=" + QUEUES,
                sock,
                false,
                false);
    }

    /** As above on packed rings (packed_vq=1): each new back-end gets fresh packed rings, two queue pairs. */
    @Test
    void packedNetVirtioUserClientReconnectsToARestartedDpdkVhost() throws Exception {
        Path sock = dir.resolve("vup.sock");
        run(
                "vup",
                "net_virtio_user0,path=" + sock + ",queues=" + QUEUES + ",packed_vq=1",
                "net_vhost0,iface=" + sock + ",queues=" + QUEUES,
                sock,
                false,
                false);
    }

    @Test
    void netVirtioUserServerAcceptsARestartedDpdkVhostClient() throws Exception {
        Path sock = dir.resolve("vus.sock");
        run(
                "vus",
                "net_virtio_user0,path=" + sock + ",server=1,queues=" + QUEUES,
                "net_vhost0,iface=" + sock + ",client=1,queues=" + QUEUES,
                sock,
                true,
                false);
    }

    /**
     * @param pandaListens panda owns the socket (server mode); otherwise DPDK does, and its stale
     *                     socket file is removed before each restart, as a supervisor would
     * @param pandaVhost   panda is the back-end, so it maps the peer's hugepages (counted)
     */
    private void run(String tag, String pandaSpec, String dpdkVdev, Path sock, boolean pandaListens, boolean pandaVhost)
            throws Exception {
        String base = "panda-kr-" + ProcessHandle.current().pid() + "-" + tag;
        List<String> prefixes = new ArrayList<>();
        // peer memory panda maps: DPDK's hugepage file (back-end), or only panda's own rings (front-end)
        String mapsMarker = pandaVhost ? base : "/memfd:panda-virtio-user-rings";
        try (PacketPool pool =
                PacketPool.create(PoolConfig.defaults().withCount(8192).withHugepages(PoolConfig.Hugepages.OFF))) {
            Port port = null;
            DpdkTestpmd dpdk = null;
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLongArray perQueue = new AtomicLongArray(QUEUES);
            AtomicLongArray perQueueTx = new AtomicLongArray(QUEUES);
            Thread poller = null;
            try {
                if (pandaListens) {
                    port = Ports.discover().open(pandaSpec, PortContext.of(pool, 0));
                    assertFalse(port.link().up(), "no peer yet");
                }
                dpdk = start(base, 0, prefixes, dpdkVdev);
                if (!pandaListens) {
                    dpdk.awaitSocket(sock);
                    port = open(pandaSpec, pool, dpdk);
                }
                Port p = port;
                poller = Thread.ofPlatform().name("kill-restart-poller").start(() -> {
                    PacketBurst burst = new PacketBurst(32);
                    PacketBurst out = new PacketBurst(32);
                    while (!stop.get()) {
                        int moved = 0;
                        for (int q = 0; q < QUEUES; q++) {
                            int k = p.rxBurst(q, burst);
                            pool.freeBulk(burst.handles, 0, k);
                            perQueue.addAndGet(q, k);
                            moved += k;
                            // panda sends too, into rings testpmd's txonly never drains: at each kill
                            // the peer holds a ring's worth of panda's buffers, which must come back
                            int n = pool.allocBulk(out.handles, 0, 8);
                            for (int i = 0; i < n; i++) {
                                pool.setLength(out.handles[i], 64);
                            }
                            int sent = p.txBurst(q, out, n);
                            pool.freeBulk(out.handles, sent, n - sent);
                            perQueueTx.addAndGet(q, sent);
                        }
                        if (moved == 0) {
                            Thread.yield();
                        }
                    }
                });
                awaitLink(port, true, dpdk);
                dpdk.command("start");
                awaitTraffic(perQueue, dpdk, "first DPDK");
                long fds = Leaks.openFds();
                long maps = Leaks.mappingsContaining(mapsMarker);
                assertTrue(maps > 0, "no mapping with " + mapsMarker + " while running");
                long reclaimed = 0;
                for (int k = 1; k <= KILLS; k++) {
                    dpdk.kill(); // mid-traffic
                    awaitLink(port, false, null);
                    if (!pandaVhost) {
                        VirtioUserPort v = (VirtioUserPort) port;
                        long reclaimedBefore = reclaimed;
                        int killed = k;
                        await(() -> v.disconnects() == killed, 20, "the disconnect seen");
                        await(
                                () -> pool.available() == pool.capacity(),
                                20,
                                "every buffer the killed back-end held back in the pool");
                        reclaimed = v.buffersReclaimed();
                        assertTrue(
                                reclaimed - reclaimedBefore >= QUEUES * 256L,
                                "posted receive buffers " + "(and sent ones) counted as reclaimed: "
                                        + (reclaimed - reclaimedBefore));
                    }
                    if (!pandaListens) {
                        Files.deleteIfExists(sock); // a SIGKILLed listener leaves its socket file behind
                    }
                    dpdk = start(base, k, prefixes, dpdkVdev);
                    awaitLink(port, true, dpdk);
                    dpdk.command("start");
                    awaitTraffic(perQueue, dpdk, "DPDK after kill " + k);
                }
                long fdsAfter = awaitCount(fds, Leaks::openFds);
                long mapsAfter = awaitCount(maps, () -> Leaks.mappingsContaining(mapsMarker));
                System.out.printf(
                        "%s: %d kills, rx per queue %s, tx per queue %s, open fds %d -> %d, "
                                + "peer mappings %d -> %d%s%n",
                        tag,
                        KILLS,
                        perQueue,
                        perQueueTx,
                        fds,
                        fdsAfter,
                        maps,
                        mapsAfter,
                        pandaVhost ? "" : ", buffers reclaimed " + reclaimed);
                for (int q = 0; q < QUEUES; q++) {
                    assertTrue(perQueueTx.get(q) > 0, "panda sent nothing on queue " + q);
                }
                // fewer is fine (a descriptor of the JVM's or the harness's that was open at the first count
                // closed since); more is a leak
                assertTrue(
                        fdsAfter <= fds,
                        "open descriptors after " + KILLS + " kills (" + fdsAfter + ") vs before (" + fds + ")");
                assertEquals(maps, mapsAfter, "mappings of " + mapsMarker + " after " + KILLS + " kills vs before");
                if (pandaVhost) {
                    for (String old : prefixes.subList(0, prefixes.size() - 1)) {
                        assertEquals(
                                0,
                                Leaks.mappingsContaining(old + "map_"),
                                "memory of killed peer " + old + " still mapped");
                    }
                }
                dpdk.command("stop");
            } finally {
                stop.set(true);
                if (poller != null) {
                    poller.join();
                }
                if (dpdk != null) {
                    dpdk.close();
                }
                if (port != null) {
                    port.close();
                }
                for (String p : prefixes) {
                    DpdkFiles.remove(p);
                }
            }
            assertEquals(pool.capacity(), pool.available(), "buffers leaked");
        }
    }

    private DpdkTestpmd start(String base, int n, List<String> prefixes, String vdev) throws IOException {
        String prefix = base + "-" + n;
        prefixes.add(prefix);
        return DpdkTestpmd.withVdev(
                prefix,
                vdev,
                dir.resolve(prefix + ".log"),
                "--forward-mode=txonly",
                "--txpkts=64",
                "--rxq=" + QUEUES,
                "--txq=" + QUEUES);
    }

    /** net_virtio_user in client mode needs DPDK listening: retry the open while DPDK comes up. */
    private static Port open(String spec, PacketPool pool, DpdkTestpmd dpdk) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try {
                return Ports.discover().open(spec, PortContext.of(pool, 0));
            } catch (DeviceException e) {
                if (System.nanoTime() > deadline || !dpdk.alive()) {
                    fail("panda could not connect to DPDK: " + e.getMessage() + "\n" + dpdk.tail());
                }
                sleep(100);
            }
        }
    }

    private static void awaitLink(Port port, boolean up, DpdkTestpmd dpdk) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (port.link().up() != up) {
            if (System.nanoTime() > deadline) {
                fail(port.name() + " link never went " + (up ? "up" : "down")
                        + (dpdk != null ? "\n" + dpdk.tail() : ""));
            }
            if (dpdk != null && !dpdk.alive()) {
                fail("dpdk-testpmd exited\n" + dpdk.tail());
            }
            sleep(20);
        }
    }

    /** Frames must arrive on every queue pair (more than before). */
    private static void awaitTraffic(AtomicLongArray perQueue, DpdkTestpmd dpdk, String who) throws IOException {
        long[] before = new long[QUEUES];
        for (int q = 0; q < QUEUES; q++) {
            before[q] = perQueue.get(q);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (int q = 0; q < QUEUES; q++) {
            while (perQueue.get(q) < before[q] + 1000) {
                if (System.nanoTime() > deadline) {
                    fail("no traffic from " + who + " on queue " + q + " (per queue " + perQueue + ")\n" + dpdk.tail());
                }
                sleep(20);
            }
        }
    }

    private static void await(java.util.function.BooleanSupplier c, int seconds, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out: " + what);
            }
            sleep(20);
        }
    }

    /** The count once it is back at or below {@code baseline}, or what it still is after 10 s. */
    private static long awaitCount(long baseline, java.util.function.LongSupplier now) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long n = now.getAsLong();
        while (n > baseline && System.nanoTime() < deadline) {
            sleep(100);
            n = now.getAsLong();
        }
        return n;
    }
}
