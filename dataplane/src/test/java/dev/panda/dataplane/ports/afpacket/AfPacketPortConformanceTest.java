package dev.panda.dataplane.ports.afpacket;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortConformanceTest;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.dataplane.testing.Frames;
import dev.panda.dataplane.testing.VethPair;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Port suite on {@code net_af_packet} (TPACKET_V3 rings) over a veth pair: frames fed to rx
 * are raw UDP frames from an AF_PACKET socket in the peer's namespace.
 */
class AfPacketPortConformanceTest extends PortConformanceTest {

    @RegisterExtension
    static final VethPair.PerClass VETH = new VethPair.PerClass();

    @Override
    protected Fixture open(PacketPool pool) {
        Port port = Ports.discover().open("net_af_packet0,iface=" + VETH.get().hostIf, PortContext.of(pool, 0));
        return Fixture.of(port, n -> {
            // to a MAC that is not the host's: the host's stack drops them silently (no ICMP
            // unreachable, no ARP exchange whose reply would be one more frame on this port)
            java.util.List<byte[]> frames = VETH.get().udpFramesToHost(n, 7300, 18);
            for (byte[] f : frames) {
                System.arraycopy(new byte[] {2, 0, 0, 0, 0, (byte) 0x99}, 0, f, 0, 6);
            }
            VETH.get().sendRaw(frames, 1);
            Frames.sleep(50); // the kernel retires a partly filled block after 1 ms
            return n;
        });
    }
}
