package dev.panda.pmd.virtio.vhost;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortConformanceTest;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import java.nio.file.Files;
import java.nio.file.Path;

/** The dataplane's Port suite on net_vhost, with {@link TestFrontend} as the guest. */
class VhostPortConformanceTest extends PortConformanceTest {

    @Override
    protected Fixture open(PacketPool pool) throws Exception {
        Path dir = Files.createTempDirectory("panda-vhost-conf");
        Path sock = dir.resolve("vh.sock");
        Port port = Ports.discover().open("net_vhost9,iface=" + sock, PortContext.of(pool, 0));
        TestFrontend fe = new TestFrontend(sock, 1024).start();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!port.link().up() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        fe.postRx(0, 512);
        return new Fixture() {
            private int next;

            @Override
            public Port port() {
                return port;
            }

            @Override
            public int feed(int n) {
                fe.reclaimTx();
                int fed = 0;
                while (fed < n && fe.send(next % fe.size, 64, fed)) {
                    next++;
                    fed++;
                }
                fe.txq.publish();
                return fed;
            }

            @Override
            public void close() {
                port.close();
                fe.close();
                try {
                    Files.deleteIfExists(sock);
                    Files.deleteIfExists(dir);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
    }
}
