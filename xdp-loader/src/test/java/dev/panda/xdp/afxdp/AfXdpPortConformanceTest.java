package dev.panda.xdp.afxdp;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortConformanceTest;
import dev.panda.dataplane.testing.VethPair;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The Port suite on {@code net_af_xdp} over a veth pair (native XDP, copy mode: veth has no
 * zero-copy). Packets fed to rx queue 0 are raw UDP frames from an AF_PACKET socket in the
 * peer's namespace, redirected by the prefilter into the socket of queue 0.
 */
class AfXdpPortConformanceTest extends PortConformanceTest {

    private static VethPair veth;

    @BeforeAll
    static void up() {
        veth = VethPair.create();
    }

    @AfterAll
    static void down() {
        veth.close();
    }

    @Override
    protected Fixture open(PacketPool pool) {
        AfXdpPort port = AfXdpFixture.open(veth, pool, ",mode=native,zerocopy=0");
        return new Fixture() {
            @Override
            public Port port() {
                return port;
            }

            @Override
            public int feed(int n) {
                AfXdpFixture.sendAndSettle(veth, port.prefilter(), veth.udpFramesToHost(n, 7000, 18));
                return n;
            }

            @Override
            public boolean loopback() {
                return false;
            }
        };
    }
}
