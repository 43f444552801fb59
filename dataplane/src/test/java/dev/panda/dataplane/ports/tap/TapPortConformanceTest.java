package dev.panda.dataplane.ports.tap;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortConformanceTest;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.dataplane.testing.Frames;
import dev.panda.dataplane.testing.VethPair;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The Port suite on {@code net_tap}: the TAP interface is moved into a namespace of its own,
 * and frames fed to rx are sent on it there from an AF_PACKET socket (the kernel transmits them
 * on the TAP, panda reads them from the fd).
 */
class TapPortConformanceTest extends PortConformanceTest {

    private static final String NS = "pxtapns" + ProcessHandle.current().pid();
    private static int seq;

    @BeforeAll
    static void up() {
        VethPair.sh("ip", "netns", "add", NS);
    }

    @AfterAll
    static void down() {
        VethPair.sh("ip", "netns", "del", NS);
    }

    @Override
    protected Fixture open(PacketPool pool) {
        String iface = "pxtap" + Long.toString(ProcessHandle.current().pid() % 100000, 36) + (seq++);
        Port port = Ports.discover().open("net_tap0,iface=" + iface, PortContext.of(pool, 0));
        VethPair.sh("ip", "link", "set", iface, "netns", NS);
        VethPair.sh("ip", "netns", "exec", NS, "sysctl", "-qw", "net.ipv6.conf." + iface + ".disable_ipv6=1");
        VethPair.sh("ip", "netns", "exec", NS, "ip", "link", "set", iface, "up");
        return Fixture.of(port, n -> {
            List<byte[]> frames = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                frames.add(Frames.ipv4(Frames.v4(198, 18, 0, 2), Frames.v4(198, 18, 0, 1), 17, 7400, 9, 18, -1));
            }
            String hex = String.join(
                    " ",
                    frames.stream().map(java.util.HexFormat.of()::formatHex).toList());
            VethPair.sh(
                    "ip",
                    "netns",
                    "exec",
                    NS,
                    "/usr/bin/python3",
                    "-c",
                    "import socket,sys\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\ns.bind((sys.argv[1],0))\n"
                            + "for h in sys.argv[2].split(): s.send(bytes.fromhex(h))\n",
                    iface,
                    hex);
            return n;
        });
    }
}
