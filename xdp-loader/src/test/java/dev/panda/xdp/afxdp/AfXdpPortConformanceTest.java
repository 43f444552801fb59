package dev.panda.xdp.afxdp;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PortConformanceTest;
import dev.panda.dataplane.testing.VethPair;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Port suite on {@code net_af_xdp} over a veth pair (native XDP, copy mode: veth has no
 * zero-copy). Packets fed to rx queue 0 are raw UDP frames from an AF_PACKET socket in the
 * peer's namespace, redirected by the prefilter into the socket of queue 0.
 */
class AfXdpPortConformanceTest extends PortConformanceTest {

    @RegisterExtension
    static final VethPair.PerClass VETH = new VethPair.PerClass();

    @Override
    protected Fixture open(PacketPool pool) {
        AfXdpPort port = AfXdpFixture.open(VETH.get(), pool, ",mode=native,zerocopy=0");
        return Fixture.of(port, n -> {
            AfXdpFixture.sendAndSettle(VETH.get(), port.prefilter(), VETH.get().udpFramesToHost(n, 7000, 18));
            return n;
        });
    }
}
