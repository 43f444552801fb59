package dev.panda.vswitch.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.jextract.Posix;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Capture against the kernel's stack and the operators' tools: three namespaces on br0 (a and b
 * access ports of VLAN 10, t a trunk of VLAN 10), static neighbours so no ARP runs, MACs learned
 * before the captures start. a pings b 5 times and sends UDP datagrams with known payloads to b's
 * port 9 (7), port 7 (3) and to an unknown MAC (4, flooded, so tagged on the trunk). Four captures
 * run at once: everything on a (both directions, no filter), {@code icmp} and {@code udp and dst
 * port 9} on what b is sent (the 7, and the 4 flooded), {@code vlan 10} on what t is sent. Each is exported with
 * {@code panda capture export}; {@code tcpdump -r} lists exactly the frames sent (count, lengths,
 * payloads), {@code tshark -r} reads every file without a warning, and captured + dropped =
 * matched = the frames sent. Needs root, tcpdump and tshark.
 */
class CaptureNamespaceTest {

    private static final java.util.concurrent.atomic.AtomicInteger RUN =
            new java.util.concurrent.atomic.AtomicInteger();
    private final String tag = Long.toString(ProcessHandle.current().pid() % 100000, 36) + RUN.incrementAndGet();
    private final List<String> namespaces = new ArrayList<>();

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void exportsExactlyTheFramesSent(PmdConfig.Mode mode) throws Exception {
        tool("tcpdump", "--version");
        tool("tshark", "--version");
        int[] cpus = Posix.getAffinity();
        Path state = Files.createTempDirectory("panda-capture-ns");
        try (PacketPool pool = PacketPool.create(PoolConfig.defaults());
                Vswitch v = Vswitch.start(
                        new VswitchConfig(new PmdConfig(List.of(), mode, "yield", null, 256), List.of()),
                        pool,
                        new int[] {cpus[cpus.length - 1]},
                        false)) {
            v.stateDir(state);
            v.addBridge(BridgeConfig.of("br0"));
            String a = ns(v, 0, "a", "198.18.30.1/24", 10, null);
            String b = ns(v, 1, "b", "198.18.30.2/24", 10, null);
            String t = ns(v, 2, "t", null, null, List.of(10));
            String macA = sh("ip", "netns", "exec", a, "cat", "/sys/class/net/eth0/address")
                    .strip();
            String macB = sh("ip", "netns", "exec", b, "cat", "/sys/class/net/eth0/address")
                    .strip();
            sh(
                    "ip",
                    "netns",
                    "exec",
                    a,
                    "ip",
                    "neigh",
                    "add",
                    "198.18.30.2",
                    "lladdr",
                    macB,
                    "dev",
                    "eth0",
                    "nud",
                    "permanent");
            sh(
                    "ip",
                    "netns",
                    "exec",
                    a,
                    "ip",
                    "neigh",
                    "add",
                    "198.18.30.9",
                    "lladdr",
                    "02:00:00:00:99:99",
                    "dev",
                    "eth0",
                    "nud",
                    "permanent");
            sh(
                    "ip",
                    "netns",
                    "exec",
                    b,
                    "ip",
                    "neigh",
                    "add",
                    "198.18.30.1",
                    "lladdr",
                    macA,
                    "dev",
                    "eth0",
                    "nud",
                    "permanent");
            // learn both MACs before capturing: one datagram each way to a closed port
            udp(b, "198.18.30.1", 7, "warm", 1);
            udp(a, "198.18.30.2", 7, "warm", 1);
            Thread.sleep(300);

            v.captureStart(new CaptureSpec("all-a", "a", "both", 0, null, null, 0, 0));
            v.captureStart(new CaptureSpec("icmp-b", "b", "tx", 0, "icmp", null, 0, 0));
            v.captureStart(new CaptureSpec("udp9-b", "b", "tx", 0, "udp and dst port 9", null, 0, 0));
            v.captureStart(new CaptureSpec("vlan-t", "t", "tx", 0, "vlan 10", null, 0, 0));

            Process ping = new ProcessBuilder(
                            "ip",
                            "netns",
                            "exec",
                            a,
                            "ping",
                            "-c",
                            "5",
                            "-i",
                            "0.2",
                            "-s",
                            "100",
                            "-p",
                            "5a",
                            "198.18.30.2")
                    .redirectErrorStream(true)
                    .start();
            String pingOut = new String(ping.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, ping.waitFor(), pingOut);
            udp(a, "198.18.30.2", 9, "panda-capture-nine-", 7);
            udp(a, "198.18.30.2", 7, "panda-capture-seven-", 3);
            udp(a, "198.18.30.9", 9, "panda-capture-flood-", 4);
            Thread.sleep(500);

            Map<String, Integer> expected =
                    Map.of("all-a", 5 + 5 + 7 + 3 + 4, "icmp-b", 5, "udp9-b", 7 + 4, "vlan-t", 4);
            for (String name : List.of("all-a", "icmp-b", "udp9-b", "vlan-t")) {
                CaptureView end = v.captureStop(name);
                System.out.println(mode + ": " + end);
                assertEquals(end.matched(), end.captured() + end.dropped(), "captured + dropped = matched: " + end);
                assertEquals(expected.get(name), (int) end.matched(), "frames matched by " + name + ": " + end);
                assertEquals(0, end.dropped(), end.toString());
            }

            // icmp on b: the 5 echo requests, 142 bytes each (14 + 20 + 8 + 100), the -p pattern in them
            String icmp = export(state, "icmp-b");
            assertEquals(5, count(icmp, "ICMP echo request"), icmp);
            assertEquals(5, count(icmp, "length 142:"), icmp);
            assertEquals(5, count(icmp, "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"), icmp);
            // udp port 9 on b: exactly the 7 datagrams (14 + 20 + 8 + 20 bytes) and the 4 flooded (21), their payloads
            String udp9 = export(state, "udp9-b");
            assertEquals(7, count(udp9, "198.18.30.2.9: UDP, length 20"), udp9);
            assertEquals(4, count(udp9, "198.18.30.9.9: UDP, length 21"), udp9); // the flooded ones reach b too
            assertEquals(7, count(udp9, "length 62:"), udp9);
            assertEquals(4, count(udp9, "length 63:"), udp9);
            for (int i = 0; i < 7; i++) {
                assertTrue(udp9.contains("panda-capture-nine-" + i), udp9);
            }
            assertEquals(0, count(udp9, "seven"), udp9);
            // vlan 10 on the trunk: the 4 flooded datagrams, tagged (18 + 20 + 8 + 21 = 67 bytes)
            String vlan = export(state, "vlan-t");
            assertEquals(4, count(vlan, "vlan 10,"), vlan);
            assertEquals(4, count(vlan, "length 67:"), vlan);
            for (int i = 0; i < 4; i++) {
                assertTrue(vlan.contains("panda-capture-flood-" + i), vlan);
            }
            // everything on a: requests and replies, all datagrams (the unknown one untagged here)
            String all = export(state, "all-a");
            assertEquals(
                    24,
                    all.lines()
                            .filter(l -> l.matches("^\\d{4}-\\d\\d-\\d\\d .*"))
                            .count(),
                    all);
            assertEquals(5, count(all, "ICMP echo reply"), all);
            assertEquals(0, count(all, "802.1Q"), all);
        } finally {
            for (String n : namespaces) {
                new ProcessBuilder("ip", "netns", "del", n).start().waitFor();
            }
            deleteTree(state);
        }
    }

    /** Exports a capture with panda capture export; checks tshark reads it cleanly; tcpdump -r's text. */
    private static String export(Path state, String name) throws Exception {
        Path file = Files.createTempFile("panda-capture-" + name, ".pcap");
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int rc = CaptureMain.run(
                    new String[] {"export", name, "--pcap", file.toString(), "--state-dir", state.toString()},
                    new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
            Process ts = new ProcessBuilder("tshark", "-r", file.toString()).start();
            String tsOut = new String(ts.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String tsErr = new String(ts.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, ts.waitFor(), "tshark -r " + name + ": " + tsErr);
            // tshark's notice about running as root is about the user, not the file
            String warnings = tsErr.lines()
                    .filter(l -> !l.startsWith("Running as user \"root\""))
                    .collect(java.util.stream.Collectors.joining("\n"));
            assertEquals("", warnings.strip(), "tshark -r " + name + " warned");
            assertTrue(!tsOut.isBlank(), "tshark listed nothing for " + name);
            Process td = new ProcessBuilder("tcpdump", "-r", file.toString(), "-nn", "-e", "-A", "-tttt").start();
            String text = new String(td.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String tdErr = new String(td.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, td.waitFor(), "tcpdump -r " + name + ": " + tdErr);
            assertTrue(tdErr.contains("link-type EN10MB"), tdErr);
            System.out.println("tcpdump -r " + name + ":\n" + text);
            return text;
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static long count(String text, String s) {
        return text.lines().filter(l -> l.contains(s)).count();
    }

    private static void udp(String ns, String to, int port, String payload, int n) throws Exception {
        sh("ip", "netns", "exec", ns, "python3", "-c", """
                import socket, sys, time
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                for i in range(int(sys.argv[4])):
                    s.sendto((sys.argv[3] + str(i)).encode(), (sys.argv[1], int(sys.argv[2])))
                    time.sleep(0.02)
                """, to, Integer.toString(port), payload, Integer.toString(n));
    }

    private String ns(Vswitch v, int i, String name, String addr, Integer tagVlan, List<Integer> trunks)
            throws Exception {
        String ns = "pcp" + tag + name;
        String host = "pch" + tag + i;
        sh("ip", "netns", "add", ns);
        namespaces.add(ns);
        sh("ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns);
        sh("sysctl", "-qw", "net.ipv6.conf." + host + ".disable_ipv6=1");
        sh("ip", "link", "set", host, "up");
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1");
        if (addr != null) {
            sh("ip", "netns", "exec", ns, "ip", "addr", "add", addr, "dev", "eth0");
        }
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up");
        v.addPort(
                "br0",
                new PortConfig(name, "net_af_xdp" + i + ",iface=" + host + ",mode=skb", tagVlan, trunks, null, null));
        return ns;
    }

    private static void tool(String... cmd) throws Exception {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            assertEquals(0, p.waitFor(), String.join(" ", cmd) + " failed (scripts/setup installs it)");
        } catch (IOException e) {
            throw new AssertionError(cmd[0] + " is not installed (scripts/setup installs it): " + e.getMessage(), e);
        }
    }

    static String sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + o);
        }
        return o;
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder())
                    .forEach(f -> f.toFile().delete());
        }
    }
}
