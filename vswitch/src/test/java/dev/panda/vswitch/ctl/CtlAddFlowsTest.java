package dev.panda.vswitch.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.vswitch.FakeControl;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.control.Json;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FailMode;
import dev.panda.vswitch.flow.FlowEngine;
import dev.panda.vswitch.flow.RecordingEgress;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code panda ctl add-flows BR FILE|-} through the real control server to real flow tables (on a
 * fake vswitch), and its API call ({@code POST /v1/bridges/{br}/flows} with {@code {"flows": [...]}}):
 * a file of 16,384 flows in one call, one classifier published, every flow in dump-flows and met by
 * packets (the load's time printed, not asserted); a line that does not parse refuses the file
 * naming it, nothing sent; a flow refused when applied names its line and nothing is applied;
 * ovs-ofctl's comments, blank lines and leading keywords; stdin; a file over the body limit in
 * several calls; bad list bodies refused with a 4xx, counted, nothing changed.
 */
class CtlAddFlowsTest extends CtlServerFixture {

    @Override
    void prepare(FakeControl control) {
        control.addBridge(BridgeConfig.of("br0"));
        control.flows("br0").setFailMode(FailMode.SECURE);
    }

    void ok(String... args) {
        CtlRun r = ctl(args);
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err());
        assertEquals("", r.out(), "a change prints nothing");
    }

    void refused(String expected, String... args) {
        CtlRun r = ctl(args);
        assertEquals(2, r.status(), r.out());
        assertEquals("", r.out());
        assertEquals("panda ctl: " + expected + "\n", r.err());
    }

    Path file(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    static String host(int i) {
        return "10.1." + (i >> 8) + "." + (i & 0xff);
    }

    /** dump-flows' JSON flows. */
    JsonNode dump() throws Exception {
        CtlRun r = ctl("--json", "dump-flows", "br0");
        assertEquals(0, r.status(), r.err());
        return Json.MAPPER.readTree(r.out()).get("flows");
    }

    /** The flows as dump-flows shows them, without their durations and counters. */
    List<String> flows() throws Exception {
        List<String> out = new ArrayList<>();
        for (JsonNode f : dump()) {
            out.add("table=" + f.get("table") + ",priority=" + f.get("priority") + ",cookie="
                    + f.get("cookie").asText() + "," + f.get("match").asText() + ",actions="
                    + f.get("actions").asText());
        }
        return out;
    }

    @Test
    void sixteenThousandFlowsGoInOneCallWithOneClassifierAndPacketsMeetThem() throws Exception {
        int n = 16_384;
        StringBuilder text = new StringBuilder("# a generated table\n\n");
        for (int i = 0; i < n; i++) {
            text.append("ip,nw_dst=").append(host(i)).append(",actions=output:").append(2 + i % 200);
            text.append(i % 1000 == 0 ? "  # one in a thousand has a comment\n" : "\n");
        }
        Path f = file("flows.txt", text.toString());
        BridgeFlows flows = control.flows("br0");
        long published = flows.generation();
        long requests = server.counters().requests();
        long t0 = System.nanoTime();
        ok("add-flows", "br0", f.toString());
        long ns = System.nanoTime() - t0;
        System.out.printf(
                "CtlAddFlowsTest: %d flows by panda ctl add-flows (%d bytes of file): %.3f s%n",
                n, Files.size(f), ns / 1e9);
        assertEquals(requests + 1, server.counters().requests(), "one call");
        assertEquals(published + 1, flows.generation(), "one classifier published for the call");
        assertEquals(n, flows.flowCount());
        JsonNode dumped = dump();
        assertEquals(n, dumped.size());
        assertEquals("ip,nw_dst=10.1.0.0", dumped.get(0).get("match").asText());
        assertEquals("output:2", dumped.get(0).get("actions").asText());
        String lines = ctl("dump-flows", "br0").out();
        assertEquals(n, lines.split("\n").length);
        assertTrue(lines.contains(" priority=32768,ip,nw_dst=10.1.63.255 actions=output:" + (2 + 16383 % 200)), lines);

        try (PacketPool pool = PacketPool.create(PoolConfig.defaults().withCount(64))) {
            FlowEngine engine = new FlowEngine(pool, 0);
            for (int i : new int[] {0, 1, 999, 1000, 4096, 12345, n - 1}) {
                assertEquals("out:" + (2 + i % 200), send(pool, engine, flows, 0x0a010000 | i), "flow " + i);
            }
            assertEquals("drop", send(pool, engine, flows, 0x0a010000 | n), "no flow: secure drops");
        }
    }

    /** One UDP packet to {@code ip} from port 1 through the tables: "out:N" or "drop". */
    private static String send(PacketPool pool, FlowEngine engine, BridgeFlows flows, int ip) {
        ByteBuffer b = ByteBuffer.allocate(14 + 20 + 8);
        b.putShort((short) 0x0200).putInt(2).putShort((short) 0x0200).putInt(1).putShort((short) 0x0800);
        b.put((byte) 0x45).put((byte) 0).putShort((short) 28).putInt(0);
        b.put((byte) 64).put((byte) 17).putShort((short) 0).putInt(0xc6120001).putInt(ip);
        b.putShort((short) 4000).putShort((short) 53).putShort((short) 8).putShort((short) 0);
        byte[] frame = b.array();
        RecordingEgress egress = new RecordingEgress(pool);
        int h = pool.alloc();
        MemorySegment.copy(frame, 0, pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), frame.length);
        pool.setLength(h, frame.length);
        engine.process(h, 1, 0, flows, egress);
        return String.join(",", egress.seen);
    }

    @Test
    void aLineThatDoesNotParseRefusesTheWholeFileAndNothingIsSent() throws Exception {
        ok("add-flow", "br0", "priority=5,ip,actions=drop");
        String show = ctl("show").out();
        List<String> before = flows();
        long requests = server.counters().requests();
        Path bad = file(
                "bad.txt",
                "ip,nw_dst=10.1.0.1,actions=output:2\n\n# fine so far\nip,nw_dst=10.1.0.2,actions=output:3\n"
                        + "colour=red,actions=drop\nip,nw_dst=10.1.0.3,actions=output:4\n");
        refused(bad + ":5: unknown field or keyword 'colour'", "add-flows", "br0", bad.toString());
        Path prereq = file("prereq.txt", "ip,nw_dst=10.1.0.1,actions=output:2\npriority=1,tp_dst=80,actions=drop\n");
        refused(
                prereq + ":2: bad match: bad_prereq (OpenFlow error bad_prereq, type 4 code 9)",
                "add-flows",
                "br0",
                prereq.toString());
        Path noActions = file("mod.txt", "\n\n\nmodify_strict priority=3,ip\n");
        refused(
                noActions + ":4: an added or modified flow needs actions= (actions=drop to drop)",
                "add-flows",
                "br0",
                noActions.toString());
        refused(
                dir.resolve("nope.txt") + ": no such file",
                "add-flows",
                "br0",
                dir.resolve("nope.txt").toString());
        refused("add-flows: missing arguments; usage: add-flows BR FILE|-", "add-flows", "br0");
        assertEquals(requests, server.counters().requests(), "nothing sent");
        assertEquals(show, ctl("show").out());
        assertEquals(before, flows());
    }

    @Test
    void aFlowRefusedWhenAppliedNamesItsLineAndNothingIsApplied() throws Exception {
        ok("add-flow", "br0", "priority=5,ip,nw_dst=10.0.0.0/8,actions=drop");
        ok("add-flow", "br0", "priority=9,arp,actions=NORMAL");
        BridgeFlows flows = control.flows("br0");
        List<String> before = flows();
        long published = flows.generation();
        long errors = server.counters().errors();
        Path f = file(
                "overlap.txt",
                "ip,nw_dst=10.1.0.1,actions=output:2\ndelete arp\nip,nw_dst=10.1.0.2,actions=output:3\n# next: refused\n"
                        + "check_overlap,priority=5,ip,nw_dst=10.1.0.0/16,actions=output:2\n"
                        + "ip,nw_dst=10.1.0.3,actions=output:4\n");
        refused(
                f + ":5: overlaps a flow of the same priority: ip,nw_dst=10.0.0.0/8 (OpenFlow error overlap, type 5"
                        + " code 3); none of the 5 flow mods was applied",
                "add-flows",
                "br0",
                f.toString());
        assertEquals(before, flows(), "the delete of line 2 was put back too");
        assertEquals(published, flows.generation(), "nothing published");
        assertEquals(errors + 1, server.counters().errors(), "counted as the API's other refusals");
        // the limit of the bridge: refused when applied, too
        BridgeFlows small = new BridgeFlows("br1", 1, 3);
        control.addBridge(BridgeConfig.of("br1"));
        control.flowTables.put("br1", small);
        Path four = file(
                "four.txt",
                "ip,nw_dst=10.1.0.1,actions=drop\nip,nw_dst=10.1.0.2,actions=drop\n\n"
                        + "ip,nw_dst=10.1.0.3,actions=drop\nip,nw_dst=10.1.0.4,actions=drop\n");
        refused(
                four + ":5: bridge br1 holds its maximum of 3 flows (OpenFlow error table_full, type 5 code 1);"
                        + " none of the 4 flow mods was applied",
                "add-flows",
                "br1",
                four.toString());
        assertEquals(0, small.flowCount());
        refused("no bridge named br9", "add-flows", "br9", four.toString());
    }

    @Test
    void keywordsCommentsAndStdinAsOvsOfctlReadsThem() throws Exception {
        ok("add-flow", "br0", "priority=7,arp,actions=NORMAL");
        String text = """
                # ovs-ofctl add-flows syntax
                add priority=10,ip,nw_dst=10.1.0.1,actions=output:2
                priority=10,ip,nw_dst=10.1.0.2,actions=output:3   # add without a keyword

                  a priority=10,ip,nw_dst=10.1.0.3,actions=output:4
                modify_strict priority=10,ip,nw_dst=10.1.0.1,actions=output:9
                mod ip,nw_dst=10.1.0.2,actions=output:8
                delete_strict priority=10,ip,nw_dst=10.1.0.3
                del arp
                """;
        InputStream in = System.in;
        try {
            System.setIn(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
            ok("add-flows", "br0", "-");
        } finally {
            System.setIn(in);
        }
        JsonNode d = dump();
        assertEquals(2, d.size(), d.toString());
        assertEquals("ip,nw_dst=10.1.0.1", d.get(0).get("match").asText());
        assertEquals("output:9", d.get(0).get("actions").asText());
        assertEquals("output:8", d.get(1).get("actions").asText());
        try {
            System.setIn(new ByteArrayInputStream("add ip,actions=drop\nremove ip\n".getBytes(StandardCharsets.UTF_8)));
            refused("stdin:2: unknown field or keyword 'remove'", "add-flows", "br0", "-");
        } finally {
            System.setIn(in);
        }
        // a file of comments only: nothing to apply, but the bridge must exist
        Path empty = file("empty.txt", "# nothing yet\n\n");
        ok("add-flows", "br0", empty.toString());
        refused("no bridge named br9", "add-flows", "br9", empty.toString());
        assertEquals(2, dump().size());
    }

    @Test
    void aFileOverTheBodyLimitGoesInSeveralCalls() throws Exception {
        int n = 24_000;
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < n; i++) {
            text.append("table=0,priority=100,ip,nw_dst=").append(host(i)).append(",actions=output:2\n");
        }
        Path f = file("big.txt", text.toString());
        assertTrue(Files.size(f) > (1 << 20), "more than a request's body holds");
        long requests = server.counters().requests();
        ok("add-flows", "br0", f.toString());
        assertEquals(requests + 2, server.counters().requests(), "two calls");
        assertEquals(n, control.flows("br0").flowCount());
        // a refusal when the second call is applied: that call applies nothing, the first stays
        StringBuilder more = new StringBuilder(text.toString().replace("priority=100", "priority=200"));
        more.append("check_overlap,table=0,priority=200,ip,nw_dst=10.1.0.0/16,actions=drop\n");
        Path g = file("more.txt", more.toString());
        CtlRun r = ctl("add-flows", "br0", g.toString());
        assertEquals(2, r.status());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("panda ctl: \\Q" + g
                        + "\\E:24001: overlaps a flow of the same priority: ip,nw_dst=10\\.1\\.[0-9.]+"
                        + " \\(OpenFlow error overlap, type 5 code 3\\); none of the (\\d+) flow mods was applied;"
                        + " the flows before line (\\d+) went in an earlier call and stay \\(a file whose request"
                        + " would pass the 1 MiB body limit goes in several calls\\)\n")
                .matcher(r.err());
        assertTrue(m.matches(), r.err());
        int first = Integer.parseInt(m.group(2));
        assertEquals(24_001 - first + 1, Integer.parseInt(m.group(1)), "the second call: from that line to the end");
        assertEquals(n + first - 1, control.flows("br0").flowCount(), "the first call's flows, none of the second's");
    }

    @Test
    void theApiRefusesBadListsWithA4xxCountsThemAndChangesNothing() throws Exception {
        ok("add-flow", "br0", "priority=5,ip,actions=drop");
        CtlClient c = new CtlClient(sock, Duration.ofSeconds(20));
        List<String> before = flows();
        long published = control.flows("br0").generation();
        long errors = server.counters().errors();
        String uri = "/v1/bridges/br0/flows";
        String many = "{\"flows\": [" + "{},".repeat(65_536) + "{}]}";
        String[][] cases = {
            {"{\"flows\": [", "400", "not JSON: "},
            {"{\"flows\": {\"flow\": \"actions=drop\"}}", "400", "flows: expected a list of flow mods, got object"},
            {"{\"flows\": \"ip,actions=drop\"}", "400", "flows: expected a list of flow mods, got string"},
            {"{\"flows\": []}", "400", "flows: an empty list: nothing to apply"},
            {many, "400", "flows: 65537 flow mods, more than the 65536 one call takes"},
            {"{\"flows\": [{\"flow\": \"actions=drop\"}], \"flow\": \"x\"}", "400", "\"flows\" goes alone in the body"},
            {
                "{\"flows\": [{\"flow\": \"ip,actions=drop\"}, \"ip,actions=drop\"]}",
                "400",
                "flows[1]: a flow is a JSON object"
            },
            {
                "{\"flows\": [{\"flow\": \"ip,actions=drop\"}, {\"flow\": 7}]}",
                "400",
                "flows[1]: unknown field or keyword '7'"
            },
            {
                "{\"flows\": [{\"flow\": \"ip,actions=drop\"}, {\"flow\": \"ip,actions=drop\", \"table\": 1}]}",
                "400",
                "flows[1]: \"flow\" (ovs-ofctl text) goes alone, or with \"command\""
            },
            {
                "{\"flows\": [{\"flow\": \"ip,actions=drop\"}, {\"command\": \"insert\", \"flow\": \"ip\"}]}",
                "400",
                "flows[1]: command: 'insert' is not add, modify, modify-strict, delete or delete-strict"
            },
            {
                "{\"flows\": [{\"flow\": \"ip,actions=drop\"}, {\"flow\": \"actions=goto_table:0\"}]}",
                "400",
                "flows[1]: goto_table:0 must name a later table (1..63) (OpenFlow error bad_inst_table_id, type 3"
                        + " code 2); none of the 2 flow mods was applied"
            },
        };
        for (String[] k : cases) {
            CtlClient.Answer a = c.call("POST", uri, k[0].getBytes(StandardCharsets.UTF_8), null);
            assertEquals(Integer.parseInt(k[1]), a.status(), a.text());
            JsonNode e = Json.MAPPER.readTree(a.body());
            assertEquals(a.status(), e.get("status").asInt());
            assertTrue(
                    e.get("error").asText().startsWith(k[2]),
                    k[2] + " / " + e.get("error").asText());
            if (e.has("field")) {
                assertTrue(e.get("error").asText().startsWith(e.get("field").asText() + ": "), a.text());
            }
        }
        // a body over 1 MiB: 413 before it is read (the connection is then closed)
        byte[] huge = ("{\"flows\": [" + "{\"flow\": \"ip,actions=drop\"},".repeat(40_000) + "{}]}")
                .getBytes(StandardCharsets.UTF_8);
        assertEquals(413, c.call("POST", uri, huge, null).status());
        assertEquals(errors + cases.length + 1, server.counters().errors(), "each refusal counted");
        assertEquals(before, flows());
        assertEquals(published, control.flows("br0").generation());
        // and one that is right: 200 with what it did
        CtlClient.Answer a = c.call(
                "POST",
                uri,
                "{\"flows\": [{\"flow\": \"ip,nw_dst=10.1.0.1,actions=output:2\"}, {\"command\": \"delete\", \"flow\": \"ip,nw_dst=10.9.0.0/16\"}]}"
                        .getBytes(StandardCharsets.UTF_8),
                null);
        assertEquals(200, a.status(), a.text());
        JsonNode j = Json.MAPPER.readTree(a.body());
        assertEquals(1, j.get("affected").asInt());
        assertEquals(2, j.get("flow-mods").asInt());
    }
}
