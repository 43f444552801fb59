package dev.panda.pmd.virtio.virtiouser;

import static dev.panda.pmd.virtio.virtiouser.DpdkTestpmd.sleep;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.port.Ports;
import dev.panda.pmd.virtio.ring.VirtioFeatures;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * panda's net_virtio_user takes what DPDK 22.11's net_vhost offers (MRG_RXBUF, EVENT_IDX,
 * INDIRECT_DESC) and works with it: a pool without headroom makes every transmitted packet a
 * two-entry indirect table (header, frame) that DPDK's rxonly counts; DPDK's txonly frames larger
 * than panda's receive buffers arrive in two mergeable buffers and are counted and dropped, while
 * the smaller frames after them arrive whole. On split rings and on packed rings ({@code packed_vq=1}:
 * indirect tables and mergeable receive through the packed format's buffer ids).
 */
@Tag("peer")
class VirtioUserDpdkFeaturesPeerTest {

    private static final Pattern FWD = Pattern.compile(
            "Forward statistics for port 0.*?RX-packets:\\s+(\\d+)\\s+"
                    + "RX-dropped:\\s+(\\d+).*?TX-packets:\\s+(\\d+)\\s+TX-dropped:\\s+(\\d+)",
            Pattern.DOTALL);
    private static final Pattern NIC = Pattern.compile("RX-bytes:\\s+(\\d+)");

    @TempDir
    Path dir;

    @ParameterizedTest(name = "devargs [{0}]")
    @ValueSource(strings = {"", ",packed_vq=1"})
    void featuresDpdkVhostOffersAreNegotiatedAndExercised(String devargs) throws Exception {
        String prefix = "panda-vuf-" + ProcessHandle.current().pid();
        Path sock = dir.resolve("vuf.sock");
        // no headroom: the 12-byte header cannot sit in front of the frame, so transmit uses indirect tables
        try (PacketPool pool = PacketPool.create(new PoolConfig(4096, 0, 2048, PoolConfig.Hugepages.OFF));
                DpdkTestpmd dpdk = new DpdkTestpmd(prefix, sock, dir.resolve("dpdk.log"), "--forward-mode=rxonly")) {
            dpdk.awaitSocket(sock);
            VirtioUserPort port = connect(sock, devargs, pool, dpdk);
            try {
                long f = port.features();
                System.out.printf("panda net_virtio_user negotiated 0x%x with DPDK net_vhost%n", f);
                assertEquals(
                        VhostUserClient.OPTIONAL,
                        f & VhostUserClient.OPTIONAL,
                        "MRG_RXBUF, INDIRECT_DESC and EVENT_IDX taken from DPDK's offer");
                assertEquals(
                        !devargs.isEmpty(),
                        VirtioFeatures.has(f, VirtioFeatures.F_RING_PACKED),
                        "VIRTIO_F_RING_PACKED as asked");
                dpdk.command("start");
                sleep(500);
                PacketBurst burst = new PacketBurst(32);
                long deadline = System.nanoTime() + 2_000_000_000L;
                while (System.nanoTime() < deadline) {
                    int n = pool.allocBulk(burst.handles, 0, 32);
                    for (int i = 0; i < n; i++) {
                        int h = burst.handles[i];
                        pool.setLength(h, 300);
                        pool.segment().asSlice(pool.dataOffset(h), 64).fill((byte) 0);
                        pool.segment().asSlice(pool.dataOffset(h), 6).fill((byte) 0xff);
                        pool.segment().set(ValueLayout.JAVA_BYTE, pool.dataOffset(h) + 12, (byte) 0x08);
                    }
                    int k = port.txBurst(0, burst, n);
                    pool.freeBulk(burst.handles, k, n - k);
                    if (k < n) {
                        Thread.yield();
                    }
                }
                sleep(3000); // DPDK's lcore shares a busy CPU
                dpdk.command("stop");
                PortStats afterTx = port.stats();

                // DPDK txonly: 2040-byte frames need 2052 bytes, two of panda's 2048-byte buffers
                long big = pump(dpdk, port, pool, "1020,1020", 1500);
                PortStats afterBig = port.stats();
                long small = pump(dpdk, port, pool, "500", 1500);
                PortStats end = port.stats();
                port.close();
                assertEquals(pool.capacity(), pool.available(), "buffers lost after close");
                dpdk.statsAtQuit(NIC);
                Matcher m = FWD.matcher(Files.readString(dpdk.log));
                long[] dpdkRx = new long[3];
                long[] dpdkTx = new long[3];
                for (int run = 0; run < 3; run++) {
                    if (!m.find()) {
                        fail("no forward statistics for run " + run + "\n" + dpdk.tail());
                    }
                    dpdkRx[run] = Long.parseLong(m.group(1));
                    dpdkTx[run] = Long.parseLong(m.group(3));
                }
                System.out.printf(
                        "panda tx %d x 300 B (indirect) -> DPDK rx %d; DPDK tx %d x 2040 B -> panda dropped %d;"
                                + " DPDK tx %d x 500 B -> panda rx %d%n",
                        afterTx.opackets(), dpdkRx[0], dpdkTx[1], afterBig.ierrors(), dpdkTx[2], small);
                assertTrue(afterTx.opackets() > 0, "panda sent nothing\n" + dpdk.tail());
                assertEquals(afterTx.opackets(), dpdkRx[0], "every frame panda sent, at DPDK");
                assertTrue(dpdkTx[1] > 0 && dpdkTx[2] > 0, "DPDK sent nothing\n" + dpdk.tail());
                assertEquals(0, big, "no 2040-byte frame fits a 2048-byte buffer behind its header");
                assertEquals(dpdkTx[1], afterBig.ierrors(), "each oversize frame counted once");
                assertEquals(dpdkTx[2], small, "every 500-byte frame after them arrived");
                assertEquals(afterBig.ierrors(), end.ierrors(), "no error among the small frames");
                assertEquals(small * 500, end.ibytes() - afterBig.ibytes());
            } finally {
                port.close();
            }
        }
    }

    /** DPDK transmits {@code txpkts} frames for a while; panda receives; returns the frames of {@code len}... received. */
    private static long pump(DpdkTestpmd dpdk, VirtioUserPort port, PacketPool pool, String txpkts, long millis)
            throws Exception {
        dpdk.command("set fwd txonly");
        dpdk.command("set txpkts " + txpkts);
        dpdk.command("start");
        PacketBurst burst = new PacketBurst(32);
        long got = 0;
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (System.nanoTime() < deadline) {
            got += take(port, pool, burst);
        }
        dpdk.command("stop");
        long quiet = System.nanoTime();
        while (System.nanoTime() - quiet < 3_000_000_000L) {
            int n = take(port, pool, burst);
            got += n;
            if (n > 0) {
                quiet = System.nanoTime();
            }
        }
        return got;
    }

    private static int take(VirtioUserPort port, PacketPool pool, PacketBurst burst) {
        int n = port.rxBurst(0, burst);
        pool.freeBulk(burst.handles, 0, n);
        if (n == 0) {
            Thread.yield();
        }
        return n;
    }

    private static VirtioUserPort connect(Path sock, String devargs, PacketPool pool, DpdkTestpmd dpdk)
            throws Exception {
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (true) {
            try {
                return (VirtioUserPort)
                        Ports.discover().open("net_virtio_user0,path=" + sock + devargs, PortContext.of(pool, 0));
            } catch (DeviceException e) {
                if (System.nanoTime() > deadline || !dpdk.alive()) {
                    fail("cannot connect to DPDK's net_vhost: " + e.getMessage() + "\n" + dpdk.tail());
                }
                sleep(100);
            }
        }
    }
}
