package dev.panda.vswitch.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.panda.jextract.Posix;
import dev.panda.vswitch.VswitchChild;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.ConfigFiles;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.ctl.CtlClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash safety of a real {@code panda vswitch --state-dir DIR} process: 200 random control changes
 * (add/del bridge and port, VLAN and bridge settings through PUT /v1/config) from a seeded generator
 * (the seed is printed), with the process SIGKILLed (by its PID) at random points, sometimes while a
 * request is in flight, and restarted each time. After every restart config-show equals the state
 * the acknowledged changes built; an in-flight change is either wholly there or wholly absent. Then
 * the journal's tail is cut at a random byte, and a random byte of it is flipped: each is reported in
 * one line and the vswitch comes back with the state before the damaged change.
 */
class JournalCrashTest {

    static final int CHANGES = 200;

    @TempDir
    Path dir;

    private final List<String> log = new ArrayList<>();

    /** One running child and its output. */
    private final class Child implements AutoCloseable {
        final Process p;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        final List<String> seen = new ArrayList<>();

        Child(Path sock) throws Exception {
            int[] cpus = Posix.getAffinity();
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(VswitchChild.jvmFlags());
            cmd.addAll(List.of(
                    "-cp",
                    System.getProperty("java.class.path"),
                    VswitchChild.class.getName(),
                    "--state-dir",
                    dir.resolve("state").toString(),
                    "--journal",
                    "on",
                    "--journal-compact-after",
                    "25",
                    "--pmd-cores",
                    Integer.toString(cpus[cpus.length - 1]),
                    "--idle",
                    "park",
                    "--control",
                    sock.toString()));
            Files.deleteIfExists(sock);
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            Thread.ofPlatform().daemon().start(() -> {
                try (BufferedReader r =
                        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) {
                        lines.add(l);
                    }
                } catch (IOException e) {
                    lines.add("(read failed: " + e + ")");
                }
            });
            while (true) {
                String l = lines.poll(60, TimeUnit.SECONDS);
                if (l == null) {
                    fail("vswitch did not start in 60 s: " + seen);
                }
                seen.add(l);
                if (l.contains("control socket")) {
                    return;
                }
                if (!p.isAlive()) {
                    lines.drainTo(seen);
                    fail("vswitch exited " + p.waitFor() + ": " + seen);
                }
            }
        }

        void kill() throws InterruptedException {
            p.destroyForcibly(); // SIGKILL to this PID
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "SIGKILL did not end pid " + p.pid());
        }

        @Override
        public void close() throws InterruptedException {
            if (p.isAlive()) {
                kill();
            }
        }
    }

    /** What the generator asks for, and the bridges it makes if acknowledged. */
    private record Change(String method, String uri, byte[] body, List<BridgeConfig> after) {}

    @Test
    void acknowledgedChangesSurviveSigkillAndInFlightOnesAreAllOrNothing() throws Exception {
        long seed = Long.getLong("journal.crash.seed", System.nanoTime());
        System.out.println("JournalCrashTest seed " + seed + " (-Djournal.crash.seed=" + seed + " repeats it)");
        Random rnd = new Random(seed);
        Path sock = dir.resolve("v.ctl");
        CtlClient ctl = new CtlClient(sock, Duration.ofSeconds(20));
        List<BridgeConfig> model = List.of();
        int done = 0;
        int restarts = 0;
        int inFlight = 0;
        int inFlightThere = 0;
        int inFlightAcked = 0;
        int next = 0;
        Change pending = null; // killed in flight without an answer: all or nothing
        List<BridgeConfig> pendingBefore = null;
        Child child = new Child(sock);
        restarts++;
        try {
            while (true) {
                // a fresh process: its state is the acknowledged one (or that plus the pending change)
                VswitchConfig shown = configShow(ctl);
                if (pending != null) {
                    if (norm(shown.bridges()).equals(norm(pending.after()))) {
                        model = pending.after();
                        inFlightThere++;
                    } else {
                        assertEquals(
                                norm(pendingBefore),
                                norm(shown.bridges()),
                                "in-flight " + pending.method() + " " + pending.uri() + " half there (seed " + seed
                                        + ")");
                    }
                    pending = null;
                }
                assertEquals(norm(model), norm(shown.bridges()), "after restart " + restarts + " (seed " + seed + ")");
                if (done >= CHANGES) {
                    break;
                }
                int batch = 1 + rnd.nextInt(30);
                boolean inFlightKill = rnd.nextInt(3) > 0;
                for (int i = 0; i < batch && done < CHANGES; i++, done++) {
                    Change ch = generate(rnd, model, shown, next++);
                    if (i < batch - 1 || !inFlightKill) {
                        CtlClient.Answer a = ctl.call(ch.method(), ch.uri(), ch.body(), null);
                        assertTrue(a.status() / 100 == 2, ch.method() + " " + ch.uri() + ": " + a.text());
                        model = ch.after();
                        continue;
                    }
                    // a request in flight when the SIGKILL comes
                    inFlight++;
                    CompletableFuture<CtlClient.Answer> f = CompletableFuture.supplyAsync(() -> {
                        try {
                            return ctl.call(ch.method(), ch.uri(), ch.body(), null);
                        } catch (IOException e) {
                            return null;
                        }
                    });
                    Thread.sleep(rnd.nextInt(40));
                    child.kill();
                    CtlClient.Answer a = f.get(30, TimeUnit.SECONDS);
                    if (a != null && a.status() / 100 == 2) {
                        inFlightAcked++;
                        model = ch.after(); // acknowledged: must be there
                    } else {
                        pending = ch;
                        pendingBefore = model;
                    }
                }
                child.kill();
                child = new Child(sock);
                restarts++;
            }
        } finally {
            child.close();
        }
        System.out.println("JournalCrashTest: " + CHANGES + " changes, " + restarts + " restarts, " + inFlight
                + " killed in flight (" + inFlightAcked + " answered before the kill, of the others " + inFlightThere
                + " wholly there after the restart, the rest wholly absent)");

        // the tail cut at a random byte of the last entry, then a random byte of it flipped
        for (boolean flip : new boolean[] {false, true}) {
            List<BridgeConfig> before = model;
            List<BridgeConfig> after;
            try (Child c = new Child(sock)) {
                VswitchConfig shown = configShow(ctl);
                Change ch = generate(rnd, model, shown, next++);
                CtlClient.Answer a = ctl.call(ch.method(), ch.uri(), ch.body(), null);
                assertTrue(a.status() / 100 == 2, a.text());
                after = ch.after();
                c.kill();
            }
            List<JournalFiles.Excerpt> ex = JournalFiles.excerpts(dir.resolve("state/journal"));
            JournalFiles.Excerpt last = ex.getLast();
            long at = last.start() + rnd.nextLong(last.end() - last.start());
            if (flip) {
                JournalFiles.flip(last.file(), at, 1 + rnd.nextInt(255));
            } else {
                JournalFiles.cut(last.file(), at);
            }
            try (Child c = new Child(sock)) {
                List<String> problems = c.seen.stream()
                        .filter(l -> l.contains("torn or corrupt tail"))
                        .toList();
                assertEquals(1, problems.size(), (flip ? "flip" : "cut") + " at " + at + ": " + c.seen);
                assertTrue(
                        c.seen.stream().anyMatch(l -> l.contains("could not read in full is kept in")),
                        c.seen.toString());
                assertEquals(norm(before), norm(configShow(ctl).bridges()), (flip ? "flip" : "cut") + " at " + at);
                System.out.println("JournalCrashTest: " + (flip ? "flipped" : "cut") + " at byte " + at + ": "
                        + problems.getFirst());
                model = before;
            }
            assertTrue(!norm(after).equals(norm(before)));
        }
    }

    private static VswitchConfig configShow(CtlClient ctl) throws IOException {
        CtlClient.Answer a = ctl.call("GET", "/v1/config", null, "application/json");
        assertEquals(200, a.status(), a.text());
        return ConfigFiles.configFromJson(a.body());
    }

    /** Bridges sorted by name, each one's ports sorted by name (apply may append a moved port). */
    static JsonNode norm(List<BridgeConfig> bridges) {
        ArrayNode out = JsonNodeFactory.instance.arrayNode();
        bridges.stream()
                .sorted(Comparator.comparing(BridgeConfig::name))
                .forEach(b -> out.add(ConfigFiles.toTree(b.withPorts(b.ports().stream()
                        .sorted(Comparator.comparing(PortConfig::name))
                        .toList()))));
        return out;
    }

    /** A random change the running vswitch accepts, and the bridges after it. */
    private static Change generate(Random rnd, List<BridgeConfig> model, VswitchConfig running, int n) {
        List<BridgeConfig> bridges = new ArrayList<>(model);
        int ports = bridges.stream().mapToInt(b -> b.ports().size()).sum();
        int r = rnd.nextInt(10);
        if (bridges.isEmpty() || r == 0 && bridges.size() < 6) {
            BridgeConfig b = new BridgeConfig("br" + n, 60 + rnd.nextInt(600), 1024 << rnd.nextInt(3), List.of());
            bridges.add(b);
            return new Change("POST", "/v1/bridges", json(ConfigFiles.toTree(b)), bridges);
        }
        BridgeConfig b = bridges.get(rnd.nextInt(bridges.size()));
        int at = bridges.indexOf(b);
        if (r == 1 && bridges.size() > 1) {
            bridges.remove(at);
            return new Change("DELETE", "/v1/bridges/" + b.name(), null, bridges);
        }
        if ((r <= 5 && ports < 24) || b.ports().isEmpty()) {
            PortConfig p = randomPort(rnd, "p" + n, n);
            List<PortConfig> ps = new ArrayList<>(b.ports());
            ps.add(p);
            bridges.set(at, b.withPorts(ps));
            return new Change("POST", "/v1/bridges/" + b.name() + "/ports", json(ConfigFiles.toTree(p)), bridges);
        }
        if (r <= 7) {
            PortConfig p = b.ports().get(rnd.nextInt(b.ports().size()));
            List<PortConfig> ps = new ArrayList<>(b.ports());
            ps.remove(p);
            bridges.set(at, b.withPorts(ps));
            return new Change("DELETE", "/v1/bridges/" + b.name() + "/ports/" + p.name(), null, bridges);
        }
        // PUT /v1/config: a VLAN change on a port and a bridge setting
        List<PortConfig> ps = new ArrayList<>(b.ports());
        int pi = rnd.nextInt(ps.size());
        PortConfig old = ps.get(pi);
        PortConfig vlan = randomPort(rnd, old.name(), 0);
        ps.set(pi, new PortConfig(old.name(), old.device(), vlan.tag(), vlan.trunks(), vlan.nativeVlan(), null));
        bridges.set(at, new BridgeConfig(b.name(), 60 + rnd.nextInt(600), b.macTableSize(), ps));
        VswitchConfig desired = new VswitchConfig(running.pmd(), bridges, running.metrics());
        return new Change("PUT", "/v1/config", ConfigFiles.toJson(desired).getBytes(StandardCharsets.UTF_8), bridges);
    }

    private static PortConfig randomPort(Random rnd, String name, int n) {
        String dev = "net_null" + n + ",no-rx=1";
        return switch (rnd.nextInt(3)) {
            case 0 -> new PortConfig(name, dev, 1 + rnd.nextInt(4094), List.of(), null, null);
            case 1 -> {
                int a = 1 + rnd.nextInt(2000);
                yield new PortConfig(name, dev, null, List.of(a, a + 1 + rnd.nextInt(2000)), null, null);
            }
            default -> new PortConfig(name, dev, null, List.of(), null, null);
        };
    }

    private static byte[] json(JsonNode n) {
        return dev.panda.vswitch.control.Json.bytes(n);
    }
}
