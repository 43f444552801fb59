package dev.panda.vswitch.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.vswitch.EmptyVswitch;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.control.ControlServer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code panda ctl} against a real vswitch (real ports, real data path) behind the real control
 * server: each bad request is refused with one line and exit status 2, and {@code show} before
 * equals {@code show} after; a malformed body or an unknown path gets a 4xx JSON answer from curl.
 */
class CtlRealVswitchTest {

    @TempDir
    Path dir;

    Path sock;
    PacketPool pool;
    Vswitch vswitch;
    ControlServer server;

    @BeforeEach
    void start() {
        sock = dir.resolve("vswitch.ctl");
        pool = PacketPool.create(PoolConfig.defaults().withCount(4096));
        vswitch = EmptyVswitch.start(pool);
        server = ControlServer.start(sock, vswitch, null);
    }

    @AfterEach
    void stop() {
        server.close();
        vswitch.close();
        pool.close();
    }

    CtlRun ctl(String... args) {
        return CtlRun.of(sock, args);
    }

    void refused(String why, String... args) {
        String before = ctl("show").out();
        CtlRun r = ctl(args);
        assertEquals(2, r.status(), why + ": " + r);
        assertEquals(1, r.err().strip().lines().count(), why + ": not one line: " + r.err());
        assertTrue(r.err().startsWith("panda ctl: "), r.err());
        assertEquals(before, ctl("show").out(), why + ": show changed");
    }

    @Test
    void badRequestsChangeNothing() throws Exception {
        assertEquals(0, ctl("add-br", "br0").status());
        assertEquals(0, ctl("add-port", "br0", "n0", "net_null0,no-rx=1").status());
        assertEquals(
                0,
                ctl("add-port", "br0", "v1", "net_vhost0,iface=" + dir.resolve("vm1.sock"))
                        .status());
        refused("bad device string", "add-port", "br0", "x", "net_bogus0");
        refused("bad device key", "add-port", "br0", "x", "net_null1,nosuchkey=1");
        refused("unknown bridge", "add-port", "br9", "x", "net_null1");
        refused("unknown bridge", "del-br", "br9");
        refused("unknown port", "del-port", "br0", "nope");
        refused("duplicate port name", "add-port", "br0", "n0", "net_null1");
        refused("duplicate device", "add-port", "br0", "n9", "net_null0");
        refused("duplicate bridge", "add-br", "br0");
        refused("VLAN out of range", "add-port", "br0", "y", "net_null2", "tag=5000");
        refused("VLAN out of range", "add-port", "br0", "y", "net_null2", "trunks=10,4095");
        // a socket path that another program already serves
        Path busy = dir.resolve("busy.sock");
        try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            other.bind(UnixDomainSocketAddress.of(busy));
            refused("socket path in use", "add-port", "br0", "v2", "net_vhost1,iface=" + busy);
        }
        refused("unknown verb", "frobnicate");
        String show = ctl("show").out();
        assertTrue(show.contains("n0") && show.contains("v1"), show);

        String notFound = curl("-s", "-w", "%{http_code}", "http://x/v1/nope");
        assertTrue(notFound.endsWith("404") && notFound.contains("\"error\""), notFound);
        String bad = curl("-s", "-w", "%{http_code}", "-X", "POST", "-d", "{bad", "http://x/v1/bridges");
        assertTrue(bad.endsWith("400") && bad.contains("\"error\""), bad);
        assertEquals(show, ctl("show").out());
    }

    private String curl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "--unix-socket", sock.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return o;
    }
}
