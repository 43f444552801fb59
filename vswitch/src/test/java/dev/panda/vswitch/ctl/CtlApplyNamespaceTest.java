package dev.panda.vswitch.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.jextract.Posix;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.control.ControlServer;
import dev.panda.vswitch.control.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code panda ctl apply} against a real vswitch whose ports are AF_XDP sockets on veth pairs into
 * network namespaces the test makes (root): a desired state that adds a port, removes another and
 * changes a VLAN is applied while {@code ping -i 0.002} runs between two ports it does not touch;
 * the ping loses nothing and the vswitch's counters of those two ports agree with it; the VLAN
 * change and the new port carry traffic afterwards. A desired state with a missing device changes
 * nothing (show and open files as before), and {@code config-show} fed back is an empty difference
 * that reopens nothing (port ids, counters and open files as before).
 */
class CtlApplyNamespaceTest {

    private static final AtomicInteger RUN = new AtomicInteger();
    private static final int FLOOD = 2500;

    // names unique per run: a deleted namespace's veth ends vanish asynchronously
    private final String tag = Long.toString(ProcessHandle.current().pid() % 100000, 36) + RUN.incrementAndGet();
    private final List<String> namespaces = new ArrayList<>();

    @TempDir
    Path dir;

    Path sock;
    PacketPool pool;
    Vswitch vswitch;
    ControlServer server;

    void start(PmdConfig.Mode mode) {
        sock = dir.resolve("vswitch.ctl");
        int[] cpus = Posix.getAffinity();
        pool = PacketPool.create(PoolConfig.defaults());
        vswitch = Vswitch.start(
                new VswitchConfig(new PmdConfig(List.of(), mode, "yield", null, 256), List.of()),
                pool,
                new int[] {cpus[cpus.length - 1]},
                false);
        server = ControlServer.start(sock, vswitch, null);
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (vswitch != null) {
            vswitch.close();
        }
        if (pool != null) {
            pool.close();
        }
        for (String n : namespaces) {
            new ProcessBuilder("ip", "netns", "del", n).start().waitFor();
        }
    }

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void applyUnderAPingFloodLosesNothingAndBadOrEmptyAppliesChangeNothing(PmdConfig.Mode mode) throws Exception {
        start(mode);
        // h1, h2: VLAN 10, untouched; h3: VLAN 10, removed; h4: VLAN 20 -> 10; h5: added
        Map<String, String> dev = new LinkedHashMap<>();
        for (int i = 1; i <= 5; i++) {
            dev.put("p" + i, "net_af_xdp" + i + ",iface=" + ns(i, "198.18.30." + i + "/24") + ",mode=skb");
        }
        String pmd = "pmd: {mode: " + mode.label() + ", ring-size: 256}\n"; // as running
        String first = pmd + config(dev, "p1", 10, "p2", 10, "p3", 10, "p4", 20);
        String next = pmd + config(dev, "p1", 10, "p2", 10, "p4", 10, "p5", 10);
        CtlRun r = ctl("apply", file("first.yaml", first));
        assertEquals(0, r.status(), r.err());
        assertEquals(5, r.out().lines().count(), r.out());
        assertEquals(0, ping(1, "198.18.30.2", "-c", "1", "-W", "2"), "h1 does not reach h2");
        assertTrue(ping(4, "198.18.30.1", "-c", "1", "-W", "1") != 0, "VLAN 20 reached VLAN 10");
        Map<String, Integer> ids = ids();
        JsonNode before = stats();

        Process flood = new ProcessBuilder(
                        "ip",
                        "netns",
                        "exec",
                        "pan" + tag + "h1",
                        "ping",
                        "-q",
                        "-i",
                        "0.002",
                        "-c",
                        "" + FLOOD,
                        "-W",
                        "2",
                        "-w",
                        "40",
                        "198.18.30.2")
                .redirectErrorStream(true)
                .start();
        Thread.sleep(1000);
        r = ctl("apply", file("next.yaml", next));
        String floodOut = new String(flood.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(flood.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, r.status(), r.err());
        assertEquals(
                List.of(
                        "- port br0 p3",
                        "+ port br0 p5 device '" + dev.get("p5") + "' tag 10",
                        "~ port br0 p4 tag 20 -> 10"),
                r.out().lines().toList());
        System.out.println(mode + ": ping under apply: " + floodOut.strip().replace('\n', ' '));
        Matcher m =
                Pattern.compile("(\\d+) packets transmitted, (\\d+) received").matcher(floodOut);
        assertTrue(m.find(), floodOut);
        assertEquals(FLOOD, Integer.parseInt(m.group(1)), floodOut);
        assertEquals(FLOOD, Integer.parseInt(m.group(2)), "ping lost packets during apply: " + floodOut);
        assertTrue(floodOut.contains(" 0% packet loss"), floodOut);

        // the vswitch counted the same: requests in on p1 and out on p2, replies the other way
        // (give or take an ARP exchange), and no drop on either
        JsonNode after = stats();
        long req1 = delta(before, after, "p1", "rx-packets");
        long req2 = delta(before, after, "p2", "tx-packets");
        long rep2 = delta(before, after, "p2", "rx-packets");
        long rep1 = delta(before, after, "p1", "tx-packets");
        System.out.printf(
                mode + ": counters: p1 rx %d, p2 tx %d, p2 rx %d, p1 tx %d (ping: %d each way)%n",
                req1,
                req2,
                rep2,
                rep1,
                FLOOD);
        for (long d : new long[] {req1, req2, rep2, rep1}) {
            assertTrue(
                    d >= FLOOD && d <= FLOOD + 4,
                    "counters disagree with ping: " + req1 + " " + req2 + " " + rep2 + " " + rep1);
        }
        for (String p : List.of("p1", "p2")) {
            for (var drop : port(after, p).get("drops").properties()) {
                assertEquals(
                        port(before, p).get("drops").get(drop.getKey()).asLong(),
                        drop.getValue().asLong(),
                        p + " dropped " + drop.getKey());
            }
        }
        Map<String, Integer> idsAfter = ids();
        for (String p : List.of("p1", "p2", "p4")) {
            assertEquals(ids.get(p), idsAfter.get(p), p + " was reopened");
        }
        assertEquals(List.of("p1", "p2", "p4", "p5"), List.copyOf(idsAfter.keySet()));
        assertEquals(0, ping(4, "198.18.30.1", "-c", "1", "-W", "2"), "h4 is in VLAN 10 now");
        assertEquals(0, ping(5, "198.18.30.2", "-c", "1", "-W", "2"), "the new port p5 carries traffic");

        // one bad part (a device that does not exist) next to a good one: nothing changes
        String show = ctl("show").out();
        long fds = openFiles();
        // (p5 removed, p3 opened again: both undone)
        String bad = pmd
                + config(dev, "p1", 10, "p2", 10, "p4", 10, "p3", 10)
                + "      - {name: bad, device: 'net_af_xdp9,iface=pannosuch" + tag + ",mode=skb'}\n";
        r = ctl("apply", file("bad.yaml", bad));
        assertEquals(2, r.status(), r.out());
        assertTrue(r.err().startsWith("panda ctl: port br0/bad: "), r.err());
        assertTrue(r.err().strip().endsWith("(nothing changed)"), r.err());
        assertEquals(show, ctl("show").out(), "a refused apply changed show");
        assertNoMoreFilesThan(fds, "a refused apply left a device open");

        // config-show fed back: an empty difference, nothing reopened
        JsonNode counters = stats();
        r = ctl("apply", file("shown.yaml", ctl("config-show").out()));
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.out(), "config-show | apply is not a no-op");
        assertEquals(show, ctl("show").out());
        assertNoMoreFilesThan(fds, "config-show | apply opened something");
        JsonNode now = stats();
        for (String p : List.of("p1", "p2", "p4", "p5")) {
            assertTrue(
                    port(now, p).get("rx-packets").asLong()
                            >= port(counters, p).get("rx-packets").asLong(),
                    p + "'s counters restarted");
        }
    }

    /** A config file: br0 with the given ports (name, access VLAN pairs). */
    private static String config(Map<String, String> dev, Object... portsAndTags) {
        StringBuilder sb = new StringBuilder("bridges:\n  - name: br0\n    ports:\n");
        for (int i = 0; i < portsAndTags.length; i += 2) {
            String p = (String) portsAndTags[i];
            sb.append("      - {name: ")
                    .append(p)
                    .append(", device: '")
                    .append(dev.get(p))
                    .append("', tag: ")
                    .append(portsAndTags[i + 1])
                    .append("}\n");
        }
        return sb.toString();
    }

    private CtlRun ctl(String... args) {
        return CtlRun.of(sock, args);
    }

    private String file(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f.toString();
    }

    private Map<String, Integer> ids() throws IOException {
        Map<String, Integer> m = new LinkedHashMap<>();
        JsonNode show = Json.MAPPER.readTree(ctl("--json", "show").out());
        for (JsonNode p : show.at("/bridges/0/ports")) {
            m.put(p.get("name").asText(), p.get("id").asInt());
        }
        return m;
    }

    private JsonNode stats() throws IOException {
        return Json.MAPPER.readTree(ctl("--json", "port-stats").out());
    }

    private static JsonNode port(JsonNode stats, String name) {
        for (JsonNode p : stats.get("ports")) {
            if (p.get("port").asText().equals(name)) {
                return p;
            }
        }
        throw new AssertionError("no port " + name + " in " + stats);
    }

    private static long delta(JsonNode before, JsonNode after, String port, String field) {
        return port(after, port).get(field).asLong()
                - port(before, port).get(field).asLong();
    }

    /**
     * No more open files than {@code before}: a device left open would add one. The count may be
     * lower (a control connection of an earlier call closing), and it settles within 3 s.
     */
    private static void assertNoMoreFilesThan(long before, String what) throws Exception {
        long deadline = System.nanoTime() + 3_000_000_000L;
        long n;
        while ((n = openFiles()) > before && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(n <= before, what + ": " + n + " open files, " + before + " before");
    }

    private static long openFiles() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    /** Namespace hN with eth0 at {@code addr}; returns the veth end left in this namespace. */
    private String ns(int i, String addr) throws Exception {
        String ns = "pan" + tag + "h" + i;
        String host = "pah" + tag + i;
        sh("ip", "netns", "add", ns);
        namespaces.add(ns);
        sh("ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns);
        sh("sysctl", "-qw", "net.ipv6.conf." + host + ".disable_ipv6=1");
        sh("ip", "link", "set", host, "up");
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1");
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", addr, "dev", "eth0");
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up");
        return host;
    }

    private int ping(int from, String to, String... opts) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", "pan" + tag + "h" + from, "ping"));
        cmd.addAll(List.of(opts));
        cmd.add(to);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor();
    }

    private static void sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + o);
        }
    }
}
