package dev.panda.vswitch.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.vswitch.Views;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.control.ControlServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code panda top} against a real vswitch (pipeline mode, ring ports) while traffic flows: alpha's
 * host sends 1000 frames a second to charlie and 100 tagged with VLAN 20 (dropped: alpha is an access
 * port of VLAN 10), bravo's host 3000 a second to charlie. The live screen runs in a tmux of the
 * test's own ({@code tmux -L}), driven with {@code send-keys} and read with {@code capture-pane}: it
 * shows the three ports with rates that agree with the counters, sorts by each key asked for, shows
 * alpha's detail with its drops by reason, and on {@code q} exits 0 with the terminal as it was
 * (the same {@code stty -g}, main screen, cursor visible) and its process gone. {@code --once} prints
 * rates that agree with the counters read around it. Against a socket nobody serves it prints one
 * line and exits 2, in the terminal too.
 */
class TopRealVswitchTest {

    static final long A = 0x02000000000aL;
    static final long B = 0x02000000000bL;
    static final long C = 0x02000000000cL;

    @TempDir
    Path dir;

    Path sock;
    PacketPool pool;
    Vswitch vswitch;
    ControlServer server;
    RingTraffic traffic;

    /** The CPU the vswitch's pmd (and its pipeline stages) spins on; top runs off it, as an operator's would. */
    int pmdCpu;

    @BeforeEach
    void start() throws Exception {
        sock = dir.resolve("vswitch.ctl");
        // an earlier test's in-process vswitch may have left this JVM's threads pinned: start from every CPU, so
        // the pmd takes the last one and tmux and the top process (children of this thread) the rest
        dev.panda.vswitch.AllCpus.restore();
        int[] cpus = java.util.stream.IntStream.range(0, Runtime.getRuntime().availableProcessors())
                .toArray();
        pmdCpu = cpus[cpus.length - 1];
        pool = PacketPool.create(PoolConfig.defaults().withCount(8192));
        vswitch = Vswitch.start(
                new VswitchConfig(new PmdConfig(List.of(), PmdConfig.Mode.PIPELINE, "yield", null, 256), List.of()),
                pool,
                new int[] {pmdCpu},
                false);
        server = ControlServer.start(sock, vswitch, null);
        traffic = new RingTraffic(pool);
        RingTraffic.Host a = traffic.host(A);
        RingTraffic.Host b = traffic.host(B);
        RingTraffic.Host c = traffic.host(C);
        vswitch.addBridge(BridgeConfig.of("br0"));
        vswitch.addPort("br0", new PortConfig("alpha", a.device, 10, List.of(), null, null));
        vswitch.addPort("br0", new PortConfig("bravo", b.device, 10, List.of(), null, null));
        vswitch.addPort("br0", new PortConfig("charlie", c.device, 10, List.of(), null, null));
        // charlie says hello (a broadcast) so its MAC is known: the traffic to it is then unicast
        assertEquals(1, c.send(0xffffffffffffL, 0, 1));
        long end = System.nanoTime() + 10_000_000_000L;
        while (vswitch.fdb("br0").entries() < 1) {
            assertTrue(System.nanoTime() < end, "charlie's MAC was never learned");
            Thread.sleep(10);
        }
        a.stream(C, 0, 1000).stream(C, 20, 100);
        b.stream(C, 0, 3000);
        traffic.start();
    }

    @AfterEach
    void stop() throws Exception {
        traffic.stop();
        server.close();
        vswitch.close();
        traffic.close();
        pool.close();
    }

    /** Per port: rx packets, tx packets, vlan drops, now. */
    Map<String, long[]> counters() {
        Map<String, long[]> m = new HashMap<>();
        for (Views.PortStatsView p : vswitch.stats(null).ports()) {
            m.put(p.port(), new long[] {p.rxPackets(), p.txPackets(), p.drops().getOrDefault("vlan", 0L)});
        }
        return m;
    }

    /** Rx and tx packets per second of each port over {@code seconds}, from the counters. */
    Map<String, double[]> measuredRates(double seconds) throws InterruptedException {
        Map<String, long[]> a = counters();
        long t0 = System.nanoTime();
        Thread.sleep((long) (seconds * 1000));
        Map<String, long[]> b = counters();
        double s = (System.nanoTime() - t0) / 1e9;
        Map<String, double[]> r = new HashMap<>();
        a.forEach((k, v) -> r.put(k, new double[] {(b.get(k)[0] - v[0]) / s, (b.get(k)[1] - v[1]) / s}));
        return r;
    }

    static void plausible(String what, double shown, double measured) {
        assertTrue(shown > 0, what + ": " + shown);
        assertTrue(
                shown > measured / 2 && shown < measured * 2,
                what + ": top shows " + shown + " a second, the counters moved " + measured + " a second");
    }

    /** A port row of the live screen. */
    record Row(boolean selected, String name, String link, double rxPps, double txPps, double dropsPerS) {}

    static final Pattern ROW = Pattern.compile(
            "([> ]) (alpha|bravo|charlie)\\s+br0\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s*");

    static List<Row> rows(List<String> screen) {
        return screen.stream()
                .map(ROW::matcher)
                .filter(Matcher::matches)
                .map(m -> new Row(
                        m.group(1).equals(">"),
                        m.group(2),
                        m.group(3),
                        number(m.group(4)),
                        number(m.group(6)),
                        number(m.group(8))))
                .toList();
    }

    static List<String> order(List<String> screen) {
        return rows(screen).stream().map(Row::name).toList();
    }

    /** {@code 3.00k} as 3000; {@code -} as NaN. */
    static double number(String s) {
        if (s.equals("-")) {
            return Double.NaN;
        }
        int u = "kMGTPE".indexOf(s.charAt(s.length() - 1));
        return u < 0
                ? Double.parseDouble(s)
                : Double.parseDouble(s.substring(0, s.length() - 1)) * Math.pow(1000, u + 1);
    }

    static Optional<Row> row(List<String> screen, String name) {
        return rows(screen).stream().filter(r -> r.name().equals(name)).findFirst();
    }

    static boolean header(List<String> screen, String sort) {
        return !screen.isEmpty()
                && screen.getFirst().startsWith("panda top  ")
                && screen.getFirst().contains("sort " + sort);
    }

    private Path script(String name, String... topArgs) throws Exception {
        int cpus = Runtime.getRuntime().availableProcessors();
        String off = cpus > 1
                ? "taskset -c "
                        + java.util.stream.IntStream.range(0, cpus)
                                .filter(c -> c != pmdCpu)
                                .mapToObj(Integer::toString)
                                .collect(java.util.stream.Collectors.joining(","))
                        + " "
                : "";
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path args = dir.resolve("java.args");
        Files.writeString(args, "-cp \"" + System.getProperty("java.class.path") + "\"\n");
        String top = off + java + " --enable-native-access=ALL-UNNAMED @" + args + " " + TopChild.class.getName() + " "
                + String.join(" ", topArgs);
        Path s = dir.resolve(name + ".sh");
        Files.writeString(s, """
                stty -g > %1$s.stty-before
                sh -c 'echo $$ > %1$s.pid; exec "$0" "$@"' %2$s
                echo "%3$s-EXIT=$?"
                stty -g > %1$s.stty-after
                """.formatted(dir.resolve(name), top, name.toUpperCase(Locale.ROOT)));
        return s;
    }

    /** What the top JVM is doing (its threads, by jcmd), for a failure message. */
    private static String childThreads(Path pidFile) {
        try {
            String pid = Files.readString(pidFile).strip();
            Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
            Process p = new ProcessBuilder(jcmd.toString(), pid, "Thread.print")
                    .redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            StringBuilder mine = new StringBuilder();
            Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getState() == Thread.State.RUNNABLE)
                    .forEach(t -> mine.append(' ').append(t.getName()));
            return "this JVM has " + Thread.activeCount() + " threads, runnable:" + mine + "\nthe top process "
                    + pid + " ("
                    + Files.readString(Path.of("/proc", pid, "stat")).strip() + "):\n" + out;
        } catch (Exception x) {
            return "(no thread dump of the top process: " + x + ")";
        }
    }

    @Test
    void liveScreenShowsRatesSortsShowsADetailAndQuitsCleanly() throws Exception {
        Path run = script("top", "--control", sock.toString(), "--sort", "name");
        try (Tmux tmux = new Tmux(150, 45)) {
            tmux.type("echo BEFORE-TOP; bash " + run);
            List<String> s;
            try {
                s = tmux.await("a screen with the rates of alpha, bravo and charlie", 60, sc -> {
                    List<Row> r = rows(sc);
                    return header(sc, "name") && r.size() == 3 && r.stream().noneMatch(x -> Double.isNaN(x.rxPps()));
                });
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\n" + childThreads(dir.resolve("top.pid")), e);
            }
            System.out.println("panda top in tmux:\n" + String.join("\n", s));
            Map<String, double[]> measured = measuredRates(1.0);
            assertEquals(List.of("alpha", "bravo", "charlie"), order(s), "sorted by name");
            plausible("alpha rx-pps", row(s, "alpha").orElseThrow().rxPps(), measured.get("alpha")[0]);
            plausible("bravo rx-pps", row(s, "bravo").orElseThrow().rxPps(), measured.get("bravo")[0]);
            plausible("charlie tx-pps", row(s, "charlie").orElseThrow().txPps(), measured.get("charlie")[1]);
            assertTrue(row(s, "alpha").orElseThrow().dropsPerS() > 0, "alpha drops VLAN 20 frames: " + s);
            assertEquals("up", row(s, "alpha").orElseThrow().link());
            String all = String.join("\n", s);
            assertTrue(s.stream().anyMatch(l -> l.matches("  pmd\\S*\\s+\\d+\\s+poller\\s+.*alpha/0.*")), all);
            assertTrue(s.stream().anyMatch(l -> l.matches("  \\S+\\s+\\d+\\s+classify\\s+.*\\d+/256 \\d+%.*")), all);
            assertTrue(s.stream().anyMatch(l -> l.matches("  br0\\s+3\\s+8192\\s+0%.*")), all);
            assertTrue(s.getLast().startsWith("q quit"), "help line: " + s.getLast());
            assertEquals("1 0", tmux.format("#{alternate_on} #{cursor_flag}"), "alternate screen, no cursor");

            // sorting: r (rx-pps) then t (tx-pps) change the order
            tmux.keys("r");
            // (the screen is painted row by row: wait for the whole order, not the heading only)
            List<String> byRx = List.of("bravo", "alpha", "charlie"); // bravo receives most, charlie nothing
            s = tmux.await(
                    "sorted by rx-pps: " + byRx,
                    10,
                    sc -> header(sc, "rx-pps") && order(sc).equals(byRx));
            assertNotEquals(List.of("alpha", "bravo", "charlie"), order(s));
            tmux.keys("t");
            List<String> byTx = List.of("charlie", "alpha", "bravo"); // charlie sends all, the others nothing
            s = tmux.await(
                    "sorted by tx-pps: " + byTx,
                    10,
                    sc -> header(sc, "tx-pps") && order(sc).equals(byTx));
            assertNotEquals(byRx, order(s));

            // select alpha and show its detail
            tmux.keys("n");
            s = tmux.await(
                    "sorted by name, alpha (first) selected",
                    10,
                    sc -> header(sc, "name")
                            && order(sc).equals(List.of("alpha", "bravo", "charlie"))
                            && row(sc, "alpha").orElseThrow().selected());
            tmux.keys("Down");
            tmux.await(
                    "bravo selected",
                    10,
                    sc -> row(sc, "bravo").map(Row::selected).orElse(false));
            tmux.keys("k");
            tmux.await(
                    "alpha selected",
                    10,
                    sc -> row(sc, "alpha").map(Row::selected).orElse(false));
            tmux.keys("Enter");
            s = tmux.await(
                    "alpha's detail",
                    10,
                    sc -> sc.size() > 1 && sc.get(1).strip().equals("Port alpha on bridge br0"));
            String detail = String.join("\n", s);
            assertTrue(detail.contains("  vlan     access, tag 10"), detail);
            assertTrue(detail.contains("  DROPS BY REASON"), detail);
            Matcher vlan = s.stream()
                    .map(Pattern.compile("  vlan\\s+(\\S+)\\s+(\\d+)")::matcher)
                    .filter(Matcher::matches)
                    .findFirst()
                    .orElseThrow(() -> new AssertionError("no vlan drops line: " + detail));
            assertTrue(Long.parseLong(vlan.group(2)) > 0, vlan.group());
            assertTrue(s.stream().anyMatch(l -> l.matches("  no_buffer\\s+\\S+\\s+\\d+")), detail);
            assertTrue(s.stream().anyMatch(l -> l.matches("  rx packets\\s+\\S+\\s+\\d+")), detail);
            assertTrue(s.getLast().startsWith("q quit  Esc"), s.getLast());
            tmux.keys("Escape");
            tmux.await("the port list again", 10, sc -> rows(sc).size() == 3);

            // q: exit status 0, the terminal as it was, the process gone
            long pid = Long.parseLong(Files.readString(dir.resolve("top.pid")).strip());
            tmux.keys("q");
            s = tmux.await("top's exit status", 15, sc -> sc.stream().anyMatch(l -> l.startsWith("TOP-EXIT=")));
            assertTrue(s.contains("TOP-EXIT=0"), String.join("\n", s));
            assertTrue(s.contains("BEFORE-TOP"), "the main screen is back: " + String.join("\n", s));
            assertFalse(s.stream().anyMatch(l -> l.startsWith("panda top  ")), String.join("\n", s));
            assertEquals("0 1 0", tmux.format("#{alternate_on} #{cursor_flag} #{keypad_cursor_flag}"));
            Path after = dir.resolve("top.stty-after");
            tmux.await("stty after top", 10, sc -> Files.exists(after));
            Thread.sleep(200);
            assertEquals(Files.readString(dir.resolve("top.stty-before")), Files.readString(after), "stty -g");
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "top's process is gone");

            // no vswitch on the socket: one line, exit 2, in the terminal too
            tmux.type("clear; bash "
                    + script("nobody", "--control", dir.resolve("nobody.ctl").toString()));
            s = tmux.await("top's exit status", 30, sc -> sc.stream().anyMatch(l -> l.startsWith("NOBODY-EXIT=")));
            List<String> said =
                    s.stream().filter(l -> l.startsWith("panda top: ")).toList();
            assertEquals(1, said.size(), String.join("\n", s));
            assertTrue(
                    said.getFirst().startsWith("panda top: no vswitch listening on " + dir.resolve("nobody.ctl")),
                    said.getFirst());
            assertTrue(s.contains("NOBODY-EXIT=2"), String.join("\n", s));
        }
    }

    @Test
    void onceRatesAgreeWithTheCounters() throws Exception {
        Thread.sleep(1000); // the traffic is steady
        Map<String, long[]> c0 = counters();
        long t0 = System.nanoTime();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = TopMain.run(
                new String[] {"--control", sock.toString(), "--once", "--interval", "1", "--sort", "rx-pps"},
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        double wall = (System.nanoTime() - t0) / 1e9;
        Map<String, long[]> c1 = counters();
        String once = out.toString(StandardCharsets.UTF_8);
        System.out.print(once);
        assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
        assertEquals("", err.toString(StandardCharsets.UTF_8));

        Matcher h = Pattern.compile(
                        "# panda top --once: (\\S+) s between samples, socket (\\S+), pmd mode pipeline, sort rx-pps")
                .matcher(once.lines().findFirst().orElseThrow());
        assertTrue(h.matches(), once);
        double interval = Double.parseDouble(h.group(1));
        assertTrue(interval > 0.9 && interval < wall, once);
        List<List<String>> ports = TopModelTest.rows(once, "port");
        assertEquals(
                List.of("bravo", "alpha", "charlie"),
                ports.stream().map(r -> r.get(1)).toList(),
                once);
        for (List<String> p : ports) {
            String name = p.get(1);
            for (int col : new int[] {4, 6}) { // RX-PPS, TX-PPS
                int which = col == 4 ? 0 : 1;
                double rate = Double.parseDouble(p.get(col));
                long total = Long.parseLong(p.get(col == 4 ? 11 : 12)); // RX-PACKETS, TX-PACKETS
                long moved = c1.get(name)[which] - c0.get(name)[which];
                assertTrue(total >= c0.get(name)[which] && total <= c1.get(name)[which], name + " " + once);
                // what top says passed in its interval passed within the wall time around it
                assertTrue(rate * interval <= moved + 1, name + ": " + rate + " * " + interval + " > " + moved);
                if (moved > 0) {
                    plausible(name + " column " + col, rate, moved / wall);
                } else {
                    assertEquals(0.0, rate, name + " " + once);
                }
            }
        }
        List<String> vlan = TopModelTest.rows(once, "drop").stream()
                .filter(r -> r.get(1).equals("alpha") && r.get(2).equals("vlan"))
                .findFirst()
                .orElseThrow();
        assertTrue(Double.parseDouble(vlan.get(3)) > 0 && Long.parseLong(vlan.get(4)) > 0, vlan.toString());
        List<List<String>> pmds = TopModelTest.rows(once, "pmd");
        List<String> poller =
                pmds.stream().filter(r -> r.get(3).equals("poller")).findFirst().orElseThrow();
        assertTrue(Double.parseDouble(poller.get(4)) > 0, "busy share " + poller);
        assertTrue(Double.parseDouble(poller.get(5)) > 0, "cycles per packet " + poller);
        assertTrue(Double.parseDouble(poller.get(6)) > 0, "pps " + poller);
        assertTrue(
                pmds.stream()
                        .anyMatch(r -> r.get(3).equals("classify") && r.get(9).equals("256")),
                once);
        assertTrue(pmds.stream().anyMatch(r -> r.get(3).equals("tx") && r.get(9).equals("256")), once);
        assertEquals(
                List.of("bridge", "br0", "3", "8192"),
                TopModelTest.rows(once, "bridge").getFirst().subList(0, 4));
    }
}
