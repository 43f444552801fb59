package dev.panda.pmd.virtio.virtiouser;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortConformanceTest;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.pmd.virtio.ring.VirtioFeatures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;

/**
 * The dataplane's Port suite on net_virtio_user with {@code packed_vq=1}: packed rings need a
 * packed back-end, here DPDK 22.11's net_vhost in io forwarding on a loop topology, so what panda
 * transmits comes back on its receive queue (the suite's loopback fixture: payloads are checked
 * too). One dpdk-testpmd per test, started and stopped by the fixture.
 */
@Tag("peer")
class VirtioUserPackedPortConformanceTest extends PortConformanceTest {

    private static int run;

    @Override
    protected Fixture open(PacketPool pool) throws Exception {
        Path dir = Files.createTempDirectory("panda-vu-packed-conf");
        Path sock = dir.resolve("vu.sock");
        DpdkTestpmd dpdk = new DpdkTestpmd(
                "panda-vu-pconf-" + ProcessHandle.current().pid() + "-" + run++,
                List.of("-l", "0,1"),
                "net_vhost0,iface=" + sock,
                dir.resolve("testpmd.log"),
                "--forward-mode=io",
                "--port-topology=loop");
        Port virtio;
        try {
            dpdk.awaitSocket(sock);
            virtio = connect("net_virtio_user8,path=" + sock + ",packed_vq=1", pool, dpdk);
            assertTrue(
                    VirtioFeatures.has(((VirtioUserPort) virtio).features(), VirtioFeatures.F_RING_PACKED),
                    "packed rings negotiated");
            dpdk.command("start");
            DpdkTestpmd.sleep(300);
        } catch (Exception | AssertionError e) {
            dpdk.close();
            throw e;
        }
        PacketBurst burst = new PacketBurst(PacketBurst.MAX_BURST);
        boolean[] closed = {false};
        return new Fixture() {
            @Override
            public Port port() {
                return virtio;
            }

            @Override
            public boolean loopback() {
                return true;
            }

            @Override
            public int feed(int n) {
                // panda transmits n frames; DPDK sends them back into panda's receive queue
                int fed = 0;
                while (fed < n) {
                    int want = Math.min(n - fed, PacketBurst.MAX_BURST);
                    int got = pool.allocBulk(burst.handles, 0, want);
                    for (int i = 0; i < got; i++) {
                        pool.setLength(burst.handles[i], 64);
                    }
                    int sent = virtio.txBurst(0, burst, got);
                    pool.freeBulk(burst.handles, sent, got - sent);
                    fed += sent;
                    if (sent < want) {
                        break;
                    }
                }
                DpdkTestpmd.sleep(100); // DPDK's lcore shares a busy CPU: let the frames come back
                return fed;
            }

            @Override
            public void close() {
                if (closed[0]) {
                    return;
                }
                closed[0] = true;
                virtio.close(); // GET_VRING_BASE while DPDK is still up
                try {
                    dpdk.close();
                    Files.deleteIfExists(sock);
                    Files.deleteIfExists(dir.resolve("testpmd.log"));
                    Files.deleteIfExists(dir);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
    }

    private static Port connect(String device, PacketPool pool, DpdkTestpmd dpdk) throws IOException {
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (true) {
            try {
                return Ports.discover().open(device, PortContext.of(pool, 1));
            } catch (DeviceException e) {
                if (System.nanoTime() > deadline || !dpdk.alive()) {
                    fail("cannot connect to DPDK's net_vhost: " + e.getMessage() + "\n" + dpdk.tail());
                }
                DpdkTestpmd.sleep(100);
            }
        }
    }
}
