package dev.panda.vswitch.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.vswitch.FakeControl;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.ctl.CtlClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ControlServerTest {

    @TempDir
    Path dir;

    Path sock;
    FakeControl control;
    ControlServer server;
    CtlClient client;

    @BeforeEach
    void start() {
        sock = dir.resolve("run/vswitch.ctl");
        control = new FakeControl();
        server = ControlServer.start(sock, control, null);
        client = new CtlClient(sock, Duration.ofSeconds(10));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    CtlClient.Answer call(String method, String uri, String body) throws IOException {
        return client.call(method, uri, body == null ? null : body.getBytes(StandardCharsets.UTF_8), null);
    }

    static JsonNode json(CtlClient.Answer a) throws IOException {
        assertTrue(a.contentType().startsWith("application/json"), a.contentType());
        return Json.MAPPER.readTree(a.body());
    }

    static void assertError(CtlClient.Answer a, int status, String message) throws IOException {
        assertEquals(status, a.status(), a.text());
        JsonNode n = json(a);
        assertEquals(status, n.get("status").asInt());
        assertEquals(message, n.get("error").asText());
    }

    @Test
    void socketFileIsPrivateAndRemovedOnClose() throws Exception {
        assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(sock), "mode 0600");
        server.close();
        assertFalse(Files.exists(sock), "socket file removed");
        assertThrows(CtlClient.NotRunningException.class, () -> call("GET", "/v1/show", null));
    }

    @Test
    void refusesAPathInUseAndReplacesAStaleOne() throws Exception {
        VswitchException e =
                assertThrows(VswitchException.class, () -> ControlServer.start(sock, new FakeControl(), null));
        assertEquals(409, e.status());
        assertTrue(e.getMessage().contains("in use"), e.getMessage());
        assertEquals(200, call("GET", "/v1/show", null).status(), "the first server still answers");

        // a stale socket file: bound once, nobody listening
        Path stale = dir.resolve("stale.ctl");
        try (var ch = java.nio.channels.ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(stale));
        }
        assertTrue(Files.exists(stale));
        try (ControlServer s2 = ControlServer.start(stale, new FakeControl(), null)) {
            assertEquals(
                    200,
                    new CtlClient(stale, Duration.ofSeconds(5))
                            .call("GET", "/v1/show", null, null)
                            .status());
        }
        Path regular = dir.resolve("file.ctl");
        Files.writeString(regular, "x");
        e = assertThrows(VswitchException.class, () -> ControlServer.start(regular, new FakeControl(), null));
        assertTrue(e.getMessage().contains("not a socket"), e.getMessage());
        assertEquals("x", Files.readString(regular), "a regular file is left alone");
    }

    @Test
    void verbsAsJson() throws Exception {
        CtlClient.Answer a = call("POST", "/v1/bridges", "{\"name\": \"br0\", \"mac-aging\": 60}");
        assertEquals(201, a.status(), a.text());
        assertEquals(60, json(a).get("mac-aging").asInt());
        assertEquals(8192, json(a).get("mac-table-size").asInt(), "defaults filled in");
        a = call("POST", "/v1/bridges/br0/ports", "{\"name\": \"vm1\", \"device\": \"net_ring0\", \"tag\": 10}");
        assertEquals(201, a.status(), a.text());
        assertEquals(
                new BridgeConfig(
                        "br0", 60, 8192, List.of(new PortConfig("vm1", "net_ring0", 10, List.of(), null, null))),
                control.bridges.get("br0"));

        JsonNode show = json(call("GET", "/v1/show", null));
        assertEquals("br0", show.at("/bridges/0/name").asText());
        assertEquals("access", show.at("/bridges/0/ports/0/vlan-mode").asText());
        assertEquals(10, show.at("/bridges/0/ports/0/tag").asInt());

        JsonNode fdb = json(call("GET", "/v1/bridges/br0/fdb", null));
        assertEquals("52:54:00:00:00:01", fdb.at("/table/0/mac").asText());
        assertEquals(2, json(call("GET", "/v1/ports/stats", null)).get("ports").size());
        JsonNode one = json(call("GET", "/v1/ports/vm1/stats", null));
        assertEquals(640, one.at("/ports/0/rx-bytes").asLong());
        assertEquals(2, one.at("/ports/0/drops/vlan").asLong());
        assertEquals(
                361.5,
                json(call("GET", "/v1/pmd-stats", null))
                        .at("/pmds/0/busy-cycles-per-packet")
                        .asDouble());
        assertEquals(204, call("POST", "/v1/pmd-stats/clear", null).status());
        assertEquals(1, control.pmdClears);

        JsonNode config = json(call("GET", "/v1/config", null));
        assertEquals(10, config.at("/bridges/0/ports/0/tag").asInt());
        a = call("GET", "/v1/config?format=yaml", null);
        assertTrue(a.contentType().startsWith("application/yaml"), a.contentType());
        assertTrue(a.text().contains("mac-aging: 60"), a.text());
        a = client.call("GET", "/v1/config", null, "application/yaml");
        assertTrue(a.text().startsWith("pmd:"), a.text());

        assertEquals(204, call("DELETE", "/v1/bridges/br0/ports/vm1", null).status());
        assertEquals(204, call("DELETE", "/v1/bridges/br0", null).status());
        assertTrue(control.bridges.isEmpty());
        assertEquals(Set.of("panda-ctl-exec"), Set.copyOf(control.threads), "calls on the control executor");
    }

    @Test
    void errorsAreJson() throws Exception {
        call("POST", "/v1/bridges", "{\"name\": \"br0\"}");
        assertError(call("POST", "/v1/bridges", "{\"name\": \"br0\"}"), 409, "bridge br0 already exists");
        assertError(call("DELETE", "/v1/bridges/nope", null), 404, "no bridge named nope");
        assertError(
                call("POST", "/v1/bridges/br0/ports", "{\"name\": \"p\", \"device\": \"x\", \"tag\": 5000}"),
                400,
                "tag: 5000 is not a VLAN (1..4094)");
        assertError(
                call("POST", "/v1/bridges/br0/ports", "{\"name\": \"p\", \"device\": \"bad0\"}"),
                400,
                "unknown device 'bad0'");
        CtlClient.Answer a = call("POST", "/v1/bridges", "{\"name\": ");
        assertEquals(400, a.status());
        assertTrue(json(a).get("error").asText().contains("not JSON"), a.text());
        assertError(
                call("POST", "/v1/bridges", "{\"name\": \"b\", \"colour\": 1}"),
                400,
                "colour: unknown key; expected one of name, mac-aging, mac-table-size, fail-mode, ports, controllers");
        // a repeated key is refused on every route, not settled by whichever value came last
        a = call("PUT", "/v1/bridges/br0/fail-mode", "{\"fail-mode\": \"secure\", \"fail-mode\": \"standalone\"}");
        assertEquals(400, a.status(), a.text());
        a = call(
                "POST",
                "/v1/bridges/br0/flows",
                "{\"flow\": \"priority=1,actions=drop\", \"priority\": 5, \"priority\": 6}");
        assertEquals(400, a.status(), a.text());
        assertTrue(json(a).get("error").asText().contains("Duplicate field"), a.text());
        // so is anything after the body's one JSON value, on every route
        long flowsBefore = control.flows("br0").generation();
        var failModeBefore = control.flows("br0").failMode();
        for (String[] c : new String[][] {
            {"POST", "/v1/bridges/br0/flows", "{\"flow\": \"priority=1,actions=drop\"} junk"},
            {"POST", "/v1/bridges/br0/flows", "{\"flows\": [{\"flow\": \"priority=1,actions=drop\"}]} {}"},
            {"PUT", "/v1/bridges/br0/fail-mode", "{\"fail-mode\": \"secure\"}]"},
            {"POST", "/v1/bridges", "{\"name\": \"trail\"} 1"}
        }) {
            a = call(c[0], c[1], c[2]);
            assertEquals(400, a.status(), c[2] + ": " + a.text());
            String why = json(a).get("error").asText();
            assertTrue(why.contains("not JSON") || why.contains("more than one document"), a.text());
        }
        assertEquals(flowsBefore, control.flows("br0").generation(), "no flow mod was carried out");
        assertEquals(failModeBefore, control.flows("br0").failMode());
        assertError(call("GET", "/v2/show", null), 404, "no such path: /v2/show (see GET /v1/show)");
        assertError(call("GET", "/v1/bridges/a/b/c", null), 404, "no such path: /v1/bridges/a/b/c (see GET /v1/show)");
        a = call("PUT", "/v1/show", null);
        assertError(a, 405, "PUT not allowed on /v1/show (allowed: GET)");
        a = call("GET", "/v1/bridges/br0", null);
        assertEquals(405, a.status());
        assertError(
                call("GET", "/v1/bridges/%zz/fdb", null),
                400,
                json(call("GET", "/v1/bridges/%zz/fdb", null)).get("error").asText());

        control.failNext = new UnsupportedOperationException("data path not written yet");
        assertError(call("GET", "/v1/show", null), 501, "not implemented: data path not written yet");
        control.failNext = new IllegalStateException("boom\nsecond line");
        assertError(call("GET", "/v1/show", null), 500, "internal error: IllegalStateException: boom second line");
        assertEquals(200, call("GET", "/v1/show", null).status(), "still serving");
        assertTrue(server.counters().errors() >= 10);
        assertTrue(server.counters().requests() > server.counters().errors());
    }

    @Test
    void bodyOverOneMebibyteIs413() throws Exception {
        byte[] big = new byte[ControlServer.MAX_BODY + 1];
        java.util.Arrays.fill(big, (byte) ' ');
        CtlClient.Answer a = client.call("POST", "/v1/bridges", big, null);
        assertError(a, 413, "request body larger than 1048576 bytes");
        byte[] fits =
                ("{\"name\": \"br0\"}" + " ".repeat(ControlServer.MAX_BODY - 20)).getBytes(StandardCharsets.UTF_8);
        assertEquals(201, client.call("POST", "/v1/bridges", fits, null).status());
    }

    @Test
    void garbageAndAbandonedConnectionsNeitherCrashNorLeak() throws Exception {
        String bad = raw("NOT HTTP AT ALL\r\n\r\n");
        assertTrue(bad.startsWith("HTTP/1.1 400"), bad);
        assertTrue(bad.contains("\"status\" : 400"), bad);
        String longLine = raw("GET /" + "a".repeat(10_000) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(longLine.startsWith("HTTP/1.1 414"), longLine);
        for (int i = 0; i < 200; i++) {
            try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
                ch.write(ByteBuffer.wrap(("POST /v1/bridges HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"na").getBytes()));
            }
        }
        // pipelined: both answered, in order
        String two = raw(
                "GET /v1/show HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertTrue(two.startsWith("HTTP/1.1 200"), two);
        assertTrue(two.indexOf("HTTP/1.1 404") > 0, two);
        assertEquals(200, call("GET", "/v1/show", null).status());
    }

    /**
     * A call that throws an Error (here an AssertionError) is answered 500 with a JSON body and
     * counted, and the connection goes on: the request pipelined behind it is answered too.
     */
    @Test
    void anErrorInACallIsAnswered500AndTheConnectionGoesOn() throws Exception {
        control.errorNext = new AssertionError("broken\ninvariant");
        try (Raw r = Raw.unix(sock)) {
            r.send("GET /v1/show HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /v1/show HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            Raw.Result res = r.read(Duration.ofSeconds(10));
            assertTrue(res.closed(), "no answer, connection left open: " + res.text());
            assertEquals(500, res.status(), res.text());
            String first = res.text()
                    .substring(res.text().indexOf("\r\n\r\n") + 4, res.text().indexOf("HTTP/1.1 200"));
            JsonNode n = Json.MAPPER.readTree(first);
            assertEquals(500, n.get("status").asInt());
            assertEquals(
                    "internal error: AssertionError: broken invariant",
                    n.get("error").asText());
            assertTrue(res.text().contains("HTTP/1.1 200 "), "the next request was answered: " + res.text());
        }
        assertEquals(1, server.counters().exceptions());
        assertEquals(200, call("GET", "/v1/show", null).status());
    }

    @Test
    void callsAreSerialisedOffTheEventLoop() throws Exception {
        control.delayMillis = 100;
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            long t0 = System.nanoTime();
            List<Future<CtlClient.Answer>> answers = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                answers.add(pool.submit(() -> call("GET", "/v1/show", null)));
            }
            for (Future<CtlClient.Answer> f : answers) {
                assertEquals(200, f.get(10, TimeUnit.SECONDS).status());
            }
            assertTrue(System.nanoTime() - t0 >= 390_000_000L, "one call at a time");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void curlGetsTheJson() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/curl")), "curl not installed");
        String out = curl("-X", "POST", "-d", "{\"name\":\"br0\"}", "http://localhost/v1/bridges");
        assertTrue(out.contains("\"mac-aging\" : 300"), out);
        out = curl("http://localhost/v1/show");
        assertEquals("br0", Json.MAPPER.readTree(out).at("/bridges/0/name").asText(), out);
        out = curl("-w", "%{http_code}", "-X", "DELETE", "http://localhost/v1/bridges/nope");
        assertTrue(out.contains("\"error\" : \"no bridge named nope\"") && out.endsWith("404"), out);
        out = curl("http://localhost/v1/config?format=yaml");
        assertTrue(out.contains("- name: br0"), out);
    }

    private String curl(String... args) throws Exception {
        List<String> cmd =
                new java.util.ArrayList<>(List.of("curl", "-sS", "--max-time", "10", "--unix-socket", sock.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    /** Sends raw bytes, reads until the server closes. */
    private String raw(String request) throws IOException {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
            ch.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.ISO_8859_1)));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(8192);
            while (ch.read(buf) >= 0) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            return out.toString(StandardCharsets.ISO_8859_1);
        }
    }
}
