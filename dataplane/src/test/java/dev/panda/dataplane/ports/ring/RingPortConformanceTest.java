package dev.panda.dataplane.ports.ring;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortConformanceTest;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;

class RingPortConformanceTest extends PortConformanceTest {

    @Override
    protected Fixture open(PacketPool pool) {
        Port port = Ports.discover().open("net_ring9,size=1024", PortContext.of(pool, 0));
        return Fixture.loopback(port, n -> {
            PacketBurst b = new PacketBurst(PacketBurst.MAX_BURST);
            int fed = 0;
            while (fed < n) {
                int k = pool.allocBulk(b.handles, 0, Math.min(n - fed, b.maxBurst()));
                for (int i = 0; i < k; i++) {
                    pool.setLength(b.handles[i], 64);
                }
                int sent = port.txBurst(0, b, k);
                pool.freeBulk(b.handles, sent, k - sent);
                fed += sent;
                if (sent < k) {
                    break;
                }
            }
            return fed;
        });
    }
}
