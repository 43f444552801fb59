package dev.panda.dataplane.ports.afpacket;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortConformanceTest;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.dataplane.testing.Frames;
import dev.panda.dataplane.testing.VethPair;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The Port suite on {@code net_af_packet} (TPACKET_V3 rings) over a veth pair: frames fed to rx
 * are raw UDP frames from an AF_PACKET socket in the peer's namespace.
 */
class AfPacketPortConformanceTest extends PortConformanceTest {

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
        Port port = Ports.discover().open("net_af_packet0,iface=" + veth.hostIf, PortContext.of(pool, 0));
        return new Fixture() {
            @Override
            public Port port() {
                return port;
            }

            @Override
            public int feed(int n) {
                // to a MAC that is not the host's: the host's stack drops them silently (no ICMP
                // unreachable, no ARP exchange whose reply would be one more frame on this port)
                java.util.List<byte[]> frames = veth.udpFramesToHost(n, 7300, 18);
                for (byte[] f : frames) {
                    System.arraycopy(new byte[] {2, 0, 0, 0, 0, (byte) 0x99}, 0, f, 0, 6);
                }
                veth.sendRaw(frames, 1);
                Frames.sleep(50);   // the kernel retires a partly filled block after 1 ms
                return n;
            }

            @Override
            public boolean loopback() {
                return false;
            }
        };
    }
}
