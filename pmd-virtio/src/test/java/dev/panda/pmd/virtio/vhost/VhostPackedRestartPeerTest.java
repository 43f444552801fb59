package dev.panda.pmd.virtio.vhost;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_RING_PACKED;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.has;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.port.Ports;
import dev.panda.pmd.virtio.RxSink;
import dev.panda.pmd.virtio.virtiouser.DpdkTestpmd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A packed ring stopped and started again under traffic: DPDK 22.11's virtio-user
 * ({@code packed_vq=1}) sends 64-byte frames into panda, then its port is stopped (GET_VRING_BASE
 * on every vring: panda hands back the packed ring's position) and started again (the vrings set
 * up anew, SET_VRING_BASE), and it sends again. Every frame DPDK counted as sent over both runs is
 * received by panda, and the link comes back.
 */
@Tag("peer")
class VhostPackedRestartPeerTest {

    private static final Pattern FWD_TX = Pattern.compile(
            "Forward statistics for port 0.*?TX-packets:\\s+(\\d+)\\s+TX-dropped:\\s+(\\d+)", Pattern.DOTALL);

    @TempDir
    Path dir;

    @Test
    void portStopAndStartKeepsEveryFrame() throws Exception {
        String prefix = "panda-vhpr-" + ProcessHandle.current().pid();
        Path sock = dir.resolve("vhpr.sock");
        try (PacketPool pool =
                PacketPool.create(PoolConfig.defaults().withCount(8192).withHugepages(PoolConfig.Hugepages.OFF))) {
            VhostPort port = (VhostPort) Ports.discover().open("net_vhost0,iface=" + sock, PortContext.of(pool, 0));
            RxSink sink = new RxSink("vhost-packed-restart", port, pool, 64, 0);
            try (port;
                    DpdkTestpmd dpdk = new DpdkTestpmd(
                            prefix,
                            List.of("--lcores", "0@1,1@1"),
                            "net_virtio_user0,path=" + sock + ",packed_vq=1",
                            dir.resolve("dpdk.log"),
                            "--forward-mode=txonly",
                            "--txpkts=64")) {
                awaitLink(port, dpdk);
                assertTrue(has(port.negotiatedFeatures(), F_RING_PACKED), "packed rings negotiated");
                dpdk.command("start");
                DpdkTestpmd.sleep(1500);
                dpdk.command("stop");
                sink.awaitDrained();
                long first = sink.received();
                assertTrue(first > 0, "nothing arrived before the restart\n" + dpdk.tail());

                dpdk.command("port stop 0");
                DpdkTestpmd.sleep(1000);
                dpdk.command("port start 0");
                awaitLink(port, dpdk);
                dpdk.command("start");
                DpdkTestpmd.sleep(1500);
                dpdk.command("stop");
                sink.awaitDrained();
                long total = sink.received();
                dpdk.command("quit");
                DpdkTestpmd.sleep(2000);
                String out = Files.readString(dpdk.log);
                Matcher m = FWD_TX.matcher(out);
                long sent = 0;
                int runs = 0;
                while (m.find()) {
                    sent += Long.parseLong(m.group(1));
                    runs++;
                }
                sink.close();
                PortStats s = port.stats();
                System.out.printf(
                        "packed restart: DPDK sent %d in %d runs, panda received %d (%d before the restart), "
                                + "ierrors %d%n",
                        sent, runs, total, first, s.ierrors());
                assertTrue(runs >= 2, "forward statistics of both runs\n" + dpdk.tail());
                assertTrue(total > first, "nothing arrived after the restart\n" + dpdk.tail());
                assertEquals(sent, total, "every frame DPDK sent over both runs, at panda");
                assertEquals(0, s.ierrors());
                assertEquals(0, sink.wrongLength());
            } finally {
                sink.close();
            }
        }
    }

    private static void awaitLink(VhostPort port, DpdkTestpmd dpdk) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!port.link().up()) {
            if (!dpdk.alive() || System.nanoTime() > deadline) {
                fail("DPDK's virtio-user did not (re)start a vring on panda\n" + dpdk.tail());
            }
            DpdkTestpmd.sleep(50);
        }
        DpdkTestpmd.sleep(500);
    }
}
