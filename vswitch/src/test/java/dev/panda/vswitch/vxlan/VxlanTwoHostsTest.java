package dev.panda.vswitch.vxlan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.vswitch.VswitchChild;
import dev.panda.vswitch.control.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two {@code panda vswitch} processes ("host A" in rtc mode, "host B" in pipeline mode), each with
 * a namespace on its bridge (AF_PACKET on a veth, overlay MTU 1450), joined only by a veth pair
 * that is their VXLAN underlay (root): the namespaces form one L2 segment. They ping both ways, a
 * 4 MiB file crosses with socat and arrives with the same sha256, each vswitch's FDB has the far
 * namespace's MAC on its tunnel port, and the tunnel counters agree across the hosts.
 */
class VxlanTwoHostsTest {

    @TempDir
    Path dir;

    private final List<Process> children = new ArrayList<>();

    @Test
    void twoVswitchesOverAVethUnderlayAreOneSegment() throws Exception {
        try (Net net = new Net()) {
            String a = net.ns("a");
            String b = net.ns("b");
            String ua = "pvua" + net.tag, ub = "pvub" + net.tag, ha = "pvha" + net.tag, hb = "pvhb" + net.tag;
            net.wire(ua, ub);
            net.veth(ha, a, "eth0", "198.18.51.1/24", 1450);
            net.veth(hb, b, "eth0", "198.18.51.2/24", 1450);
            for (String ns : List.of(a, b)) {
                net.in(ns, "ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off");
            }
            Path sockA = start("a", "rtc", "198.18.50.1", "198.18.50.2", ha, ua);
            Path sockB = start("b", "pipeline", "198.18.50.2", "198.18.50.1", hb, ub);

            assertTrue(Net.pingsWithin(a, "198.18.51.2", 20), "A's namespace never reached B's");
            Net.Result ab = Net.run(a, "ping", "-c", "20", "-i", "0.05", "-W", "2", "198.18.51.2");
            Net.Result ba =
                    Net.run(b, "ping", "-c", "20", "-i", "0.05", "-W", "2", "-s", "1422", "-M", "do", "198.18.51.1");
            System.out.println(
                    "A -> B: " + ab.out().strip().lines().reduce((x, y) -> y).orElse(""));
            System.out.println("B -> A (1450-byte packets, DF): "
                    + ba.out().strip().lines().skip(22).toList());
            assertTrue(ab.status() == 0 && ab.out().contains(" 0% packet loss"), ab.out());
            assertTrue(ba.status() == 0 && ba.out().contains(" 0% packet loss"), ba.out());

            // a 4 MiB file from A to B over TCP
            byte[] data = new byte[4 << 20];
            new Random(42).nextBytes(data);
            Path in = dir.resolve("in.bin");
            Path out = dir.resolve("out.bin");
            Files.write(in, data);
            Process server = new ProcessBuilder(
                            "ip",
                            "netns",
                            "exec",
                            b,
                            "socat",
                            "-u",
                            "TCP-LISTEN:5001,reuseaddr",
                            "OPEN:" + out + ",creat,trunc")
                    .redirectErrorStream(true)
                    .start();
            children.add(server);
            Thread.sleep(500);
            long t0 = System.nanoTime();
            Net.Result sent = null;
            for (int i = 0; i < 5; i++) {
                sent = Net.run(a, "socat", "-u", "OPEN:" + in, "TCP:198.18.51.2:5001,connect-timeout=5");
                if (sent.status() == 0) {
                    break;
                }
                Thread.sleep(500);
            }
            assertEquals(0, sent.status(), sent.out());
            assertTrue(server.waitFor(60, TimeUnit.SECONDS), "the receiving socat did not finish");
            double s = (System.nanoTime() - t0) / 1e9;
            String sumIn = sha256(in), sumOut = sha256(out);
            System.out.printf("4 MiB A -> B in %.2f s; sha256 %s / %s%n", s, sumIn, sumOut);
            assertEquals(sumIn, sumOut, "the file changed on the way");

            String macA = mac(a), macB = mac(b);
            assertTrue(fdbHas(sockA, macB, "vx42"), "A did not learn B's namespace on its tunnel");
            assertTrue(fdbHas(sockB, macA, "vx42"), "B did not learn A's namespace on its tunnel");
            JsonNode txA = tunnel(sockA), rxB = tunnel(sockB);
            System.out.println("A vx42 " + txA + "\nB vx42 " + rxB);
            assertTrue(rxB.get("rx-packets").asLong() > 2000, rxB.toString());
            assertTrue(txA.get("tx-packets").asLong() >= rxB.get("rx-packets").asLong(), txA + " " + rxB);
            for (JsonNode t : List.of(txA, rxB)) {
                for (String reason : List.of(
                        "too_big",
                        "inbox_full",
                        "underlay_bad_ip_checksum",
                        "underlay_malformed",
                        "underlay_unknown_vni")) {
                    assertEquals(0, t.get("drops").get(reason).asLong(), reason + " in " + t);
                }
            }
        } finally {
            for (Process p : children) {
                if (p.isAlive()) {
                    new ProcessBuilder("kill", "-TERM", Long.toString(p.pid()))
                            .start()
                            .waitFor();
                    if (!p.waitFor(20, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                    }
                }
            }
        }
    }

    /** Starts a vswitch process with br0 = the namespace's veth + a VXLAN tunnel; its socket. */
    private Path start(String name, String mode, String local, String remote, String hostEnd, String underlay)
            throws Exception {
        Path sock = dir.resolve(name + ".ctl");
        Path file = dir.resolve(name + ".yaml");
        Files.writeString(file, """
                pmd: {mode: %s, idle: yield}
                bridges:
                  - name: br0
                    ports:
                      - {name: h, device: 'net_af_packet61,iface=%s'}
                      - name: vx42
                        vxlan: {vni: 42, local: %s, remote: %s, underlay: 'net_af_packet60,iface=%s'}
                """.formatted(mode, hostEnd, local, remote, underlay));
        Process p = new ProcessBuilder(VswitchChild.command(
                        "--config",
                        file.toString(),
                        "--pmd-cores",
                        VswitchChild.lastCpu(),
                        "--metrics",
                        "off",
                        "--control",
                        sock.toString()))
                .redirectErrorStream(true)
                .start();
        children.add(p);
        BlockingQueue<String> lines = VswitchChild.lines(p);
        String first = lines.poll(30, TimeUnit.SECONDS);
        assertTrue(
                first != null && first.contains("control socket"),
                name + ": vswitch did not start: " + first + " " + lines);
        return sock;
    }

    private static JsonNode tunnel(Path sock) throws Exception {
        return Json.MAPPER
                .readTree(Net.ctl(sock, "--json", "port-stats", "vx42"))
                .get("ports")
                .get(0);
    }

    private static boolean fdbHas(Path sock, String mac, String port) throws Exception {
        for (JsonNode e :
                Json.MAPPER.readTree(Net.ctl(sock, "--json", "fdb-show", "br0")).get("table")) {
            if (e.get("mac").asText().equalsIgnoreCase(mac)
                    && e.get("port").asText().equals(port)) {
                return true;
            }
        }
        return false;
    }

    private static String mac(String ns) throws Exception {
        return Net.run(ns, "cat", "/sys/class/net/eth0/address").out().strip();
    }

    private static String sha256(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }
}
