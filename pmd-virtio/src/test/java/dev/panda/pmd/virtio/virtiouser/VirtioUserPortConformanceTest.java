package dev.panda.pmd.virtio.virtiouser;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortConformanceTest;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The dataplane's Port suite on net_virtio_user, with panda's net_vhost (same pool) as the back-end. */
class VirtioUserPortConformanceTest extends PortConformanceTest {

    /** Devargs appended to the net_virtio_user port (the packed variants set packed_vq=1). */
    protected String frontArgs() {
        return "";
    }

    @Override
    protected Fixture open(PacketPool pool) throws Exception {
        Path dir = Files.createTempDirectory("panda-vu-conf");
        Path sock = dir.resolve("vu.sock");
        Port vhost = Ports.discover().open("net_vhost8,iface=" + sock, PortContext.of(pool, 0));
        Port virtio = Ports.discover().open("net_virtio_user8,path=" + sock + frontArgs(), PortContext.of(pool, 1));
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!vhost.link().up() && System.nanoTime() < deadline) {
            Thread.yield();
        }
        PacketBurst burst = new PacketBurst(PacketBurst.MAX_BURST);
        return new Fixture() {
            @Override
            public Port port() {
                return virtio;
            }

            @Override
            public int feed(int n) {
                // the back-end transmits n frames into virtio-user's receive queue
                int fed = 0;
                while (fed < n) {
                    int want = Math.min(n - fed, PacketBurst.MAX_BURST);
                    int got = pool.allocBulk(burst.handles, 0, want);
                    for (int i = 0; i < got; i++) {
                        pool.setLength(burst.handles[i], 64);
                    }
                    int sent = vhost.txBurst(0, burst, got);
                    pool.freeBulk(burst.handles, sent, got - sent);
                    fed += sent;
                    if (sent < want) {
                        break;
                    }
                }
                return fed;
            }

            @Override
            public void close() {
                virtio.close();
                vhost.close();
                try {
                    Files.deleteIfExists(sock);
                    Files.deleteIfExists(dir);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
    }
}
