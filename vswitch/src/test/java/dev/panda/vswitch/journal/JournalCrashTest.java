package dev.panda.vswitch.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.panda.vswitch.VswitchProcess;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.ConfigFiles;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.control.Json;
import dev.panda.vswitch.ctl.CtlClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash safety of a real {@code panda vswitch --state-dir DIR} process: 200 random control changes
 * (add/del bridge and port, VLAN and bridge settings through PUT /v1/config, OpenFlow flows added,
 * modified and deleted strictly, by cookie or all, captures started and stopped) from a seeded
 * generator (the seed is printed), with the process SIGKILLed (by its PID) at random points,
 * sometimes while a request is in flight, and restarted each time. After every restart config-show,
 * every bridge's dump-flows (less counters) and capture list equal the state the acknowledged
 * changes built (and so does the running switch before each kill, which checks the model); an
 * in-flight change is either wholly there or wholly absent. Then
 * the journal's tail is cut at a random byte, and a random byte of it is flipped: each is reported in
 * one line and the vswitch comes back with the state before the damaged change.
 */
class JournalCrashTest {

    static final int CHANGES = 200;

    @TempDir
    Path dir;

    private final List<String> log = new ArrayList<>();

    /** One flow as the model keeps it: table, priority and match identify it. */
    record OFlow(int table, int priority, String match, String actions, long cookie) {
        String key() {
            return table + "/" + priority + "/" + match;
        }

        /** As GET /v1/bridges/B/flows shows it (FlowFormat's match and actions). */
        String shown() {
            return "table=" + table + " priority=" + priority + " cookie=0x" + Long.toHexString(cookie) + " match="
                    + match + " actions=" + actions;
        }
    }

    /** A running capture as the model keeps it. */
    record OCapture(String name, String port, String dir, int snaplen, String filter) {
        String shown() {
            return name + " port=" + port + " dir=" + dir + " snaplen=" + snaplen + " filter=" + filter;
        }
    }

    /** The acknowledged state: bridges (config-show), each bridge's flows, the running captures. */
    record Model(List<BridgeConfig> bridges, Map<String, List<OFlow>> flows, Map<String, OCapture> captures) {
        static final Model EMPTY = new Model(List.of(), Map.of(), Map.of());

        Model {
            bridges = List.copyOf(bridges);
            Map<String, List<OFlow>> f = new TreeMap<>();
            flows.forEach((b, l) -> {
                if (!l.isEmpty()) {
                    f.put(b, List.copyOf(l));
                }
            });
            flows = Map.copyOf(f);
            captures = Map.copyOf(captures);
        }

        Model withBridges(List<BridgeConfig> b) {
            Map<String, List<OFlow>> f = new TreeMap<>(flows);
            f.keySet().removeIf(x -> b.stream().noneMatch(y -> y.name().equals(x)));
            return new Model(b, f, captures);
        }

        Model withFlows(String bridge, List<OFlow> l) {
            Map<String, List<OFlow>> f = new TreeMap<>(flows);
            f.put(bridge, l);
            return new Model(bridges, f, captures);
        }

        Model withCaptures(Map<String, OCapture> c) {
            return new Model(bridges, flows, c);
        }

        /** What is compared: bridges as norm() has them, flows and captures as sorted lines. */
        String normal() {
            StringBuilder b = new StringBuilder(norm(bridges).toString()).append('\n');
            new TreeMap<>(flows)
                    .forEach((br, l) -> l.stream()
                            .map(OFlow::shown)
                            .sorted()
                            .forEach(x -> b.append(br).append(": ").append(x).append('\n')));
            captures.values().stream()
                    .map(OCapture::shown)
                    .sorted()
                    .forEach(x -> b.append("capture ").append(x).append('\n'));
            return b.toString();
        }
    }

    /** What the generator asks for, and the state it makes if acknowledged. */
    private record Change(String method, String uri, byte[] body, Model after) {}

    @Test
    void acknowledgedChangesSurviveSigkillAndInFlightOnesAreAllOrNothing() throws Exception {
        long seed = Long.getLong("journal.crash.seed", System.nanoTime());
        System.out.println("JournalCrashTest seed " + seed + " (-Djournal.crash.seed=" + seed + " repeats it)");
        Random rnd = new Random(seed);
        Path sock = dir.resolve("v.ctl");
        CtlClient ctl = new CtlClient(sock, Duration.ofSeconds(20));
        Model model = Model.EMPTY;
        int done = 0;
        int restarts = 0;
        int inFlight = 0;
        int inFlightThere = 0;
        int inFlightAcked = 0;
        int next = 0;
        Map<String, Integer> kinds = new TreeMap<>();
        Change pending = null; // killed in flight without an answer: all or nothing
        Model pendingBefore = null;
        VswitchProcess child = new VswitchProcess(dir.resolve("state"), sock, "--journal-compact-after", "25");
        restarts++;
        try {
            while (true) {
                // a fresh process: its state is the acknowledged one (or that plus the pending change)
                VswitchConfig shown = configShow(ctl);
                String now = observed(ctl, shown);
                if (pending != null) {
                    if (now.equals(pending.after().normal())) {
                        model = pending.after();
                        inFlightThere++;
                    } else {
                        assertEquals(
                                pendingBefore.normal(),
                                now,
                                "in-flight " + pending.method() + " " + pending.uri() + " half there (seed " + seed
                                        + ")");
                    }
                    pending = null;
                }
                assertEquals(model.normal(), now, "after restart " + restarts + " (seed " + seed + ")");
                if (done >= CHANGES) {
                    break;
                }
                int batch = 1 + rnd.nextInt(30);
                boolean inFlightKill = rnd.nextInt(3) > 0;
                for (int i = 0; i < batch && done < CHANGES; i++, done++) {
                    Change ch = generate(rnd, model, shown, next++);
                    kinds.merge(kind(ch), 1, Integer::sum);
                    if (i < batch - 1 || !inFlightKill) {
                        CtlClient.Answer a = ctl.call(ch.method(), ch.uri(), ch.body(), null);
                        assertTrue(
                                a.status() / 100 == 2, ch.method() + " " + ch.uri() + " " + body(ch) + ": " + a.text());
                        model = ch.after();
                        continue;
                    }
                    // the model agrees with the running switch before the kill (else the model is wrong)
                    assertEquals(model.normal(), observed(ctl, configShow(ctl)), "before a kill (seed " + seed + ")");
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
                if (child.p.isAlive()) {
                    assertEquals(model.normal(), observed(ctl, configShow(ctl)), "before a kill (seed " + seed + ")");
                }
                child.kill();
                child = new VswitchProcess(dir.resolve("state"), sock, "--journal-compact-after", "25");
                restarts++;
            }
        } finally {
            child.close();
        }
        System.out.println("JournalCrashTest: " + CHANGES + " changes " + kinds + ", " + restarts + " restarts, "
                + inFlight + " killed in flight (" + inFlightAcked + " answered before the kill, of the others "
                + inFlightThere + " wholly there after the restart, the rest wholly absent); at the end "
                + model.bridges().size() + " bridge(s), "
                + model.flows().values().stream().mapToInt(List::size).sum() + " flow(s), "
                + model.captures().size() + " capture(s)");

        // the tail cut at a random byte of the last entry, then a random byte of it flipped
        for (boolean flip : new boolean[] {false, true}) {
            Model before = model;
            Model after;
            try (VswitchProcess c = new VswitchProcess(dir.resolve("state"), sock, "--journal-compact-after", "25")) {
                VswitchConfig shown = configShow(ctl);
                // a change that changes something (the generator also makes some that do not: a
                // flow added again as it is, a delete of what is not there), so that losing it to
                // the torn tail shows
                Change ch = generate(rnd, model, shown, next++);
                for (int tries = 0; tries < 100 && ch.after().normal().equals(model.normal()); tries++) {
                    ch = generate(rnd, model, shown, next++);
                }
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
            try (VswitchProcess c = new VswitchProcess(dir.resolve("state"), sock, "--journal-compact-after", "25")) {
                List<String> problems = c.seen.stream()
                        .filter(l -> l.contains("torn or corrupt tail"))
                        .toList();
                assertEquals(1, problems.size(), (flip ? "flip" : "cut") + " at " + at + ": " + c.seen);
                assertTrue(
                        c.seen.stream().anyMatch(l -> l.contains("could not read in full is kept in")),
                        c.seen.toString());
                assertEquals(before.normal(), observed(ctl, configShow(ctl)), (flip ? "flip" : "cut") + " at " + at);
                System.out.println("JournalCrashTest: " + (flip ? "flipped" : "cut") + " at byte " + at + ": "
                        + problems.getFirst());
                model = before;
            }
            assertTrue(!after.normal().equals(before.normal()));
        }
    }

    private static String kind(Change ch) {
        if (ch.uri().endsWith("/flows")) {
            return "flow";
        }
        if (ch.uri().startsWith("/v1/captures")) {
            return "capture";
        }
        return ch.uri().equals("/v1/config") ? "apply" : ch.uri().contains("/ports") ? "port" : "bridge";
    }

    private static String body(Change ch) {
        return ch.body() == null ? "" : new String(ch.body(), StandardCharsets.UTF_8);
    }

    private static VswitchConfig configShow(CtlClient ctl) throws IOException {
        CtlClient.Answer a = ctl.call("GET", "/v1/config", null, "application/json");
        assertEquals(200, a.status(), a.text());
        return ConfigFiles.configFromJson(a.body());
    }

    /** The running switch's state in {@link Model#normal()}'s form: config-show, dump-flows, capture list. */
    private static String observed(CtlClient ctl, VswitchConfig shown) throws IOException {
        Map<String, List<OFlow>> flows = new TreeMap<>();
        for (BridgeConfig b : shown.bridges()) {
            CtlClient.Answer a = ctl.call("GET", "/v1/bridges/" + b.name() + "/flows", null, "application/json");
            assertEquals(200, a.status(), a.text());
            List<OFlow> l = new ArrayList<>();
            for (JsonNode f : Json.MAPPER.readTree(a.body()).get("flows")) {
                l.add(new OFlow(
                        f.get("table").asInt(),
                        f.get("priority").asInt(),
                        f.get("match").asText(),
                        f.get("actions").asText(),
                        Long.parseUnsignedLong(f.get("cookie").asText().substring(2), 16)));
            }
            flows.put(b.name(), l);
        }
        CtlClient.Answer a = ctl.call("GET", "/v1/captures", null, "application/json");
        assertEquals(200, a.status(), a.text());
        Map<String, OCapture> caps = new TreeMap<>();
        for (JsonNode c : Json.MAPPER.readTree(a.body()).get("captures")) {
            assertEquals("running", c.path("state").asText(), c.toString());
            caps.put(
                    c.get("name").asText(),
                    new OCapture(
                            c.get("name").asText(),
                            c.get("port").asText(),
                            c.get("dir").asText(),
                            c.get("snaplen").asInt(),
                            c.path("filter").isTextual() ? c.get("filter").asText() : null));
        }
        return new Model(shown.bridges(), flows, caps).normal();
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

    // match texts as add-flow takes them and as dump-flows prints them back
    private static final String[] MATCHES = {
        "",
        "in_port=1",
        "in_port=2",
        "ip,nw_dst=198.18.0.1",
        "ip,nw_src=198.18.0.0/24",
        "udp,tp_dst=53",
        "dl_dst=02:00:00:00:00:01"
    };
    private static final String[] ACTIONS = {"output:2", "drop", "NORMAL", "FLOOD", "output:3,output:1"};
    private static final String ALL_ONES = "0xffffffffffffffff";

    /** A random change the running vswitch accepts, and the state after it. */
    private static Change generate(Random rnd, Model model, VswitchConfig running, int n) {
        List<BridgeConfig> bridges = new ArrayList<>(model.bridges());
        int ports = bridges.stream().mapToInt(b -> b.ports().size()).sum();
        Set<String> captured = new HashSet<>();
        model.captures().values().forEach(c -> captured.add(c.port()));
        int r = rnd.nextInt(20);
        if (bridges.isEmpty() || r == 0 && bridges.size() < 6) {
            BridgeConfig b = new BridgeConfig("br" + n, 60 + rnd.nextInt(600), 1024 << rnd.nextInt(3), List.of());
            bridges.add(b);
            return new Change("POST", "/v1/bridges", json(ConfigFiles.toTree(b)), model.withBridges(bridges));
        }
        BridgeConfig b = bridges.get(rnd.nextInt(bridges.size()));
        int at = bridges.indexOf(b);
        if (r >= 1 && r <= 8) {
            return flowChange(rnd, model, b.name());
        }
        if (r == 9 || r == 10) {
            List<String> free = bridges.stream()
                    .flatMap(x -> x.ports().stream())
                    .map(PortConfig::name)
                    .toList();
            if (!model.captures().isEmpty() && (model.captures().size() >= 3 || free.isEmpty() || rnd.nextBoolean())) {
                List<String> names = new ArrayList<>(new TreeMap<>(model.captures()).keySet());
                String name = names.get(rnd.nextInt(names.size()));
                Map<String, OCapture> c = new HashMap<>(model.captures());
                c.remove(name);
                return new Change("DELETE", "/v1/captures/" + name, null, model.withCaptures(c));
            }
            if (!free.isEmpty()) {
                String port = free.get(rnd.nextInt(free.size()));
                String dir = new String[] {"rx", "tx", "both"}[rnd.nextInt(3)];
                String filter = rnd.nextInt(3) == 0 ? "icmp" : null;
                OCapture oc = new OCapture("c" + n, port, dir, 128, filter);
                var body = JsonNodeFactory.instance.objectNode();
                body.put("name", oc.name()).put("port", port).put("dir", dir).put("snaplen", 128);
                if (filter != null) {
                    body.put("filter", filter);
                }
                Map<String, OCapture> c = new HashMap<>(model.captures());
                c.put(oc.name(), oc);
                return new Change("POST", "/v1/captures", json(body), model.withCaptures(c));
            }
            return flowChange(rnd, model, b.name());
        }
        r -= 11; // 0..8: the bridge and port changes
        boolean bridgeCaptured = b.ports().stream().anyMatch(p -> captured.contains(p.name()));
        if (r == 0 && bridges.size() > 1 && !bridgeCaptured) {
            bridges.remove(at);
            return new Change("DELETE", "/v1/bridges/" + b.name(), null, model.withBridges(bridges));
        }
        List<PortConfig> deletable =
                b.ports().stream().filter(p -> !captured.contains(p.name())).toList();
        if ((r <= 4 && ports < 24) || b.ports().isEmpty() || (r <= 6 && deletable.isEmpty())) {
            PortConfig p = randomPort(rnd, "p" + n, n);
            List<PortConfig> ps = new ArrayList<>(b.ports());
            ps.add(p);
            bridges.set(at, b.withPorts(ps));
            return new Change(
                    "POST",
                    "/v1/bridges/" + b.name() + "/ports",
                    json(ConfigFiles.toTree(p)),
                    model.withBridges(bridges));
        }
        if (r <= 6) {
            PortConfig p = deletable.get(rnd.nextInt(deletable.size()));
            List<PortConfig> ps = new ArrayList<>(b.ports());
            ps.remove(p);
            bridges.set(at, b.withPorts(ps));
            return new Change(
                    "DELETE", "/v1/bridges/" + b.name() + "/ports/" + p.name(), null, model.withBridges(bridges));
        }
        // PUT /v1/config: a VLAN change on a port and a bridge setting
        List<PortConfig> ps = new ArrayList<>(b.ports());
        int pi = rnd.nextInt(ps.size());
        PortConfig old = ps.get(pi);
        PortConfig vlan = randomPort(rnd, old.name(), 0);
        ps.set(pi, new PortConfig(old.name(), old.device(), vlan.tag(), vlan.trunks(), vlan.nativeVlan(), null));
        bridges.set(at, new BridgeConfig(b.name(), 60 + rnd.nextInt(600), b.macTableSize(), ps));
        VswitchConfig desired = new VswitchConfig(running.pmd(), bridges, running.metrics(), running.stateDir());
        return new Change(
                "PUT",
                "/v1/config",
                ConfigFiles.toJson(desired).getBytes(StandardCharsets.UTF_8),
                model.withBridges(bridges));
    }

    /** add-flow, mod-flows (strict, or by cookie), del-flows (strict, by cookie, or all) on one bridge. */
    private static Change flowChange(Random rnd, Model model, String bridge) {
        List<OFlow> flows = new ArrayList<>(model.flows().getOrDefault(bridge, List.of()));
        String uri = "/v1/bridges/" + bridge + "/flows";
        int table = rnd.nextInt(3);
        int priority = 100 * rnd.nextInt(4);
        String match = MATCHES[rnd.nextInt(MATCHES.length)];
        String actions = ACTIONS[rnd.nextInt(ACTIONS.length)];
        long cookie = rnd.nextInt(4);
        OFlow existing = flows.isEmpty() ? null : flows.get(rnd.nextInt(flows.size()));
        int op = rnd.nextInt(10);
        if (existing != null && op >= 5) {
            // aim at a flow that is there: its table, priority and match
            table = existing.table();
            priority = existing.priority();
            match = existing.match();
            cookie = existing.cookie();
        }
        String id = "table=" + table + ",priority=" + priority + (match.isEmpty() ? "" : "," + match);
        var body = JsonNodeFactory.instance.objectNode();
        if (op <= 4 || flows.isEmpty()) {
            body.put("flow", id + ",cookie=0x" + Long.toHexString(cookie) + ",actions=" + actions);
            OFlow f = new OFlow(table, priority, match, actions, cookie);
            flows.removeIf(x -> x.key().equals(f.key()));
            flows.add(f);
            return new Change("POST", uri, json(body), model.withFlows(bridge, flows));
        }
        if (op == 5) {
            body.put("command", "modify-strict").put("flow", id + ",actions=" + actions);
            int t = table, p = priority;
            String m = match;
            flows.replaceAll(
                    x -> x.table() == t && x.priority() == p && x.match().equals(m)
                            ? new OFlow(t, p, m, actions, x.cookie())
                            : x);
            return new Change("POST", uri, json(body), model.withFlows(bridge, flows));
        }
        if (op == 6) {
            body.put("command", "modify")
                    .put(
                            "flow",
                            "table=" + table + ",cookie=0x" + Long.toHexString(cookie) + "/" + ALL_ONES + ",actions="
                                    + actions);
            int t = table;
            long c = cookie;
            flows.replaceAll(
                    x -> x.table() == t && x.cookie() == c ? new OFlow(t, x.priority(), x.match(), actions, c) : x);
            return new Change("POST", uri, json(body), model.withFlows(bridge, flows));
        }
        if (op <= 8) {
            body.put("command", "delete-strict").put("flow", id);
            String key = new OFlow(table, priority, match, "", 0).key();
            flows.removeIf(x -> x.key().equals(key));
            return new Change("DELETE", uri, json(body), model.withFlows(bridge, flows));
        }
        if (rnd.nextInt(4) == 0) {
            return new Change("DELETE", uri, null, model.withFlows(bridge, List.of()));
        }
        body.put("flow", "cookie=0x" + Long.toHexString(cookie) + "/" + ALL_ONES);
        long c = cookie;
        flows.removeIf(x -> x.cookie() == c);
        return new Change("DELETE", uri, json(body), model.withFlows(bridge, flows));
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
