package dev.panda.vswitch.datapath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.Views;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.control.ControlServer;
import dev.panda.vswitch.control.ControlToken;
import dev.panda.vswitch.ctl.CtlClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A real vswitch forwarding between two ring ports (host a sends to host b at about 10,000 frames
 * per second) while 1000 malformed requests in a row hit its control API over the unix socket and
 * the TCP listener: bad request lines, bad JSON, unknown fields, wrong types, huge request lines and
 * headers, too many headers, no token. Each gets its 4xx; afterwards a normal call works and
 * nothing changed; the traffic never stopped (no second without frames reaching b) and every frame
 * a sent reached b, with no drop counted on either port.
 */
class ControlUnderTrafficTest {

    private static final String TOKEN = "dHJhZmZpYy10ZXN0LXRva2VuLTAxMjM0NTY3ODk=";
    private static final long MAC_A = 0x020000000a01L;
    private static final long MAC_B = 0x020000000b01L;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void malformedRequestsNeitherStopTrafficNorChangeAnything(PmdConfig.Mode mode) throws Exception {
        try (Hosts hs = new Hosts(mode)) {
            hs.vswitch.addBridge(BridgeConfig.of("br0"));
            // rings of 2048: a host thread descheduled for up to 200 ms on a busy machine loses nothing
            Hosts.Host a = hs.host(2048);
            Hosts.Host b = hs.host(2048);
            hs.vswitch.addPort("br0", PortConfig.of("a", a.device));
            hs.vswitch.addPort("br0", PortConfig.of("b", b.device));
            // b speaks first, so br0 knows where MAC_B is and a's frames go to b only
            b.send(MAC_A, MAC_B, 0, 46);
            assertEquals(1, a.receive(500).size(), "a did not get b's first frame");

            try (ControlServer server = ControlServer.start(
                    ControlServer.Options.unix(dir.resolve("v.ctl"))
                            .withTcp(new InetSocketAddress("127.0.0.1", 0), ControlToken.of(TOKEN)),
                    hs.vswitch,
                    null)) {
                CtlClient unix = new CtlClient(server.path(), Duration.ofSeconds(10));
                String configBefore = unix.call("GET", "/v1/config", null, null).text();

                AtomicBoolean stop = new AtomicBoolean();
                AtomicLong sent = new AtomicLong();
                AtomicLong received = new AtomicLong();
                AtomicLong lastProgress = new AtomicLong(System.nanoTime());
                AtomicLong longestGap = new AtomicLong();
                AtomicBoolean measuring = new AtomicBoolean();
                Thread sender = new Thread(() -> {
                    while (!stop.get()) {
                        for (int i = 0; i < 100; i++) {
                            a.send(MAC_B, MAC_A, 0, 46);
                        }
                        sent.addAndGet(100);
                        try {
                            Thread.sleep(10);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                });
                Thread receiver = new Thread(() -> {
                    while (!stop.get() || received.get() < sent.get()) {
                        int n = b.receive(20).size();
                        long now = System.nanoTime();
                        if (n > 0) {
                            received.addAndGet(n);
                            lastProgress.set(now);
                        } else if (measuring.get()) {
                            longestGap.accumulateAndGet(now - lastProgress.get(), Math::max);
                        }
                        if (stop.get() && n == 0 && now - lastProgress.get() > 3_000_000_000L) {
                            return; // nothing more is coming
                        }
                    }
                });
                sender.start();
                receiver.start();
                Map<String, Integer> statuses = new TreeMap<>();
                long during;
                try {
                    Thread.sleep(500);
                    measuring.set(true);
                    long before = received.get();

                    for (int i = 0; i < 1000; i++) {
                        Malformed m = MALFORMED.get(i % MALFORMED.size());
                        boolean tcp = m.tcpOnly || i % 2 == 1;
                        String answer = tcp
                                ? exchangeTcp(server.tcpAddress(), m.request)
                                : exchangeUnix(server.path(), m.request);
                        int status = answer.startsWith("HTTP/1.1 ") ? Integer.parseInt(answer.substring(9, 12)) : -1;
                        assertEquals(
                                tcp ? m.tcpStatus : m.status,
                                status,
                                m.name + " over " + (tcp ? "TCP" : "unix") + ": " + answer);
                        assertTrue(answer.contains("\"error\""), answer);
                        statuses.merge(m.name + " " + status, 1, Integer::sum);
                    }
                    during = received.get() - before;
                    measuring.set(false);

                    CtlClient.Answer show = unix.call("GET", "/v1/show", null, null);
                    assertEquals(200, show.status(), "a normal call after the malformed ones");
                    assertEquals(
                            configBefore,
                            unix.call("GET", "/v1/config", null, null).text(),
                            "the malformed requests changed something");
                    CtlClient.Answer viaTcp = CtlClient.tcp(server.tcpAddress(), TOKEN, Duration.ofSeconds(10))
                            .call("GET", "/v1/show", null, null);
                    assertEquals(200, viaTcp.status());

                } finally {
                    // the threads touch the pool: they end before it is unmapped
                    stop.set(true);
                    sender.join();
                    receiver.join(10_000);
                    if (receiver.isAlive()) {
                        receiver.interrupt();
                        receiver.join();
                    }
                }
                System.out.println(mode + ": 1000 malformed requests " + statuses + "; frames sent " + sent.get()
                        + ", received " + received.get() + " (" + during + " during the requests), longest gap "
                        + longestGap.get() / 1_000_000 + " ms");
                assertTrue(during > 0, "no frame reached b while the requests were served");
                assertTrue(
                        longestGap.get() < 1_000_000_000L,
                        "traffic stopped for " + longestGap.get() / 1_000_000 + " ms during the requests");
                List<String> drops = new java.util.ArrayList<>();
                for (Views.PortStatsView p : hs.vswitch.stats(null).ports()) {
                    p.drops().forEach((why, n) -> {
                        if (n != 0) {
                            drops.add(p.port() + " " + why + "=" + n);
                        }
                    });
                }
                assertEquals(List.of(), drops, "drops counted");
                assertEquals(sent.get(), received.get(), "frames lost");
                assertEquals(0, server.counters().exceptions());
                assertTrue(server.counters().errors() >= 1000);
            }
        }
    }

    /**
     * @param status    the answer on the unix socket
     * @param tcpStatus the answer on the TCP listener: 401 where the request is too broken for its
     *                  token to be read (an unauthenticated client learns nothing else)
     */
    record Malformed(String name, String request, int status, int tcpStatus, boolean tcpOnly) {
        static Malformed any(String name, String request, int status) {
            return new Malformed(name, request, status, status, false);
        }

        static Malformed unreadable(String name, String request, int status) {
            return new Malformed(name, request, status, 401, false);
        }
    }

    private static final String AUTH = "Authorization: Bearer " + TOKEN + "\r\n";

    private static String post(String path, String body) {
        return "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + AUTH + "Connection: close\r\nContent-Length: "
                + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body;
    }

    private static String manyHeaders() {
        StringBuilder sb = new StringBuilder("GET /v1/show HTTP/1.1\r\nHost: x\r\n" + AUTH);
        for (int i = 0; i < 80; i++) {
            sb.append("X-N").append(i).append(": ").append(i).append("\r\n");
        }
        return sb.append("\r\n").toString();
    }

    private static final List<Malformed> MALFORMED = List.of(
            Malformed.unreadable("bad-request-line", "NOT HTTP AT ALL\r\n" + AUTH + "\r\n", 400),
            Malformed.unreadable("bad-version", "GET /v1/show HTTP/9\r\n" + AUTH + "\r\n", 400),
            Malformed.unreadable("binary", "\u0000\u0001\u00ff\u00fe GET\r\n" + AUTH + "\r\n", 400),
            Malformed.any("bad-json", post("/v1/bridges", "{\"name\": "), 400),
            Malformed.any("not-an-object", post("/v1/bridges", "[1, 2, 3]"), 400),
            Malformed.any(
                    "unknown-field",
                    post("/v1/bridges/br0/ports", "{\"name\": \"x\", \"device\": \"net_null9\", \"colour\": 1}"),
                    400),
            Malformed.any("wrong-type", post("/v1/bridges", "{\"name\": \"br1\", \"mac-aging\": \"forever\"}"), 400),
            Malformed.any(
                    "wrong-type-list",
                    post("/v1/bridges/br0/ports", "{\"name\": \"x\", \"device\": \"net_null9\", \"trunks\": \"10\"}"),
                    400),
            Malformed.unreadable("huge-line", "GET /" + "a".repeat(6000) + " HTTP/1.1\r\n" + AUTH + "\r\n", 414),
            Malformed.unreadable(
                    "huge-header",
                    "GET /v1/show HTTP/1.1\r\n" + AUTH + "X-Big: " + "b".repeat(10_000) + "\r\n\r\n",
                    431),
            Malformed.any("many-headers", manyHeaders(), 431),
            Malformed.any(
                    "bad-content-length", "POST /v1/bridges HTTP/1.1\r\n" + AUTH + "Content-Length: -5\r\n\r\n", 400),
            Malformed.any(
                    "huge-body", "POST /v1/bridges HTTP/1.1\r\n" + AUTH + "Content-Length: 99999999\r\n\r\n{", 413),
            new Malformed(
                    "no-token",
                    "POST /v1/bridges HTTP/1.1\r\nContent-Length: 15\r\n\r\n{\"name\": \"br9\"}",
                    401,
                    401,
                    true),
            new Malformed(
                    "wrong-token",
                    "DELETE /v1/bridges/br0 HTTP/1.1\r\nAuthorization: Bearer nope-nope-nope-nope\r\n\r\n",
                    401,
                    401,
                    true));

    private static String exchangeUnix(Path sock, String request) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sock));
            return exchange(ch, request);
        }
    }

    private static String exchangeTcp(InetSocketAddress address, String request) throws IOException {
        try (SocketChannel ch = SocketChannel.open(address)) {
            return exchange(ch, request);
        }
    }

    /** Writes the request (stopping if the server closes early), reads until the server closes. */
    private static String exchange(SocketChannel ch, String request) throws IOException {
        ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.ISO_8859_1));
        try {
            while (out.hasRemaining()) {
                ch.write(out);
            }
        } catch (IOException closedEarly) {
            // the server answered before reading everything (huge header): read that answer
        }
        ByteArrayOutputStream in = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(16384);
        try {
            while (ch.read(buf) >= 0) {
                in.write(buf.array(), 0, buf.position());
                buf.clear();
            }
        } catch (IOException reset) {
            // what arrived before a reset is the answer
        }
        return in.toString(StandardCharsets.ISO_8859_1);
    }
}
