package dev.panda.vswitch.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.vswitch.FakeControl;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.ctl.CtlClient;
import dev.panda.vswitch.metrics.MetricsServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What makes the control API safe to expose: the socket's mode, owner, group and directory; the
 * TCP listener's bearer token (none, wrong, right; over curl-free raw HTTP and panda ctl); every
 * request bound (line, headers, body, time, connections per listener), and a slow or oversized
 * client cut off within the bound while another client is served.
 */
class ControlSecurityTest {

    private static final String TOKEN = "c2VjcmV0LXRva2VuLWZvci10ZXN0cy0wMTIzNDU2Nzg5";

    @TempDir
    Path dir;

    static int uid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }

    static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
    }

    @Test
    void socketIsOwnersOnlyInADirectoryItMadePrivate() throws Exception {
        Path sock = dir.resolve("run/panda/vswitch.ctl");
        try (ControlServer s = ControlServer.start(sock, new FakeControl(), null)) {
            assertEquals(0600, mode(sock), "socket mode");
            assertEquals(0140000, (Integer) Files.getAttribute(sock, "unix:mode") & 0170000, "a socket");
            assertEquals(uid(), Files.getAttribute(sock, "unix:uid"), "owned by the user running the server");
            assertEquals(0700, mode(sock.getParent()), "directory the server made");
            try (var names = Files.list(sock.getParent())) {
                assertEquals(
                        List.of("vswitch.ctl"),
                        names.map(p -> p.getFileName().toString()).toList(),
                        "the private bind directory is gone");
            }
            assertEquals(
                    200,
                    new CtlClient(sock, Duration.ofSeconds(5))
                            .call("GET", "/v1/show", null, null)
                            .status());
        }
        assertFalse(Files.exists(sock));
    }

    /**
     * The socket's name never appears with another mode: a watcher polls the path while the server
     * starts and stops 30 times and sees only 0600.
     */
    @Test
    void socketNeverVisibleWithTheUmasksMode() throws Exception {
        Path sock = dir.resolve("v.ctl");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<String> wrong = new AtomicReference<>();
        long[] seen = {0};
        Thread watcher = new Thread(() -> {
            while (!stop.get()) {
                try {
                    int m = mode(sock);
                    seen[0]++;
                    if (m != 0600) {
                        wrong.compareAndSet(null, Integer.toOctalString(m));
                    }
                } catch (IOException gone) {
                    // not there between runs
                }
            }
        });
        watcher.start();
        try {
            for (int i = 0; i < 30; i++) {
                ControlServer.start(sock, new FakeControl(), null).close();
            }
        } finally {
            stop.set(true);
            watcher.join();
        }
        assertEquals(null, wrong.get(), "socket seen with mode " + wrong.get());
        assertTrue(seen[0] > 0, "the watcher never saw the socket");
    }

    @Test
    void controlGroupGetsTheSocket() throws Exception {
        String[] group = otherGroup();
        Path sock = dir.resolve("grp/vswitch.ctl");
        try (ControlServer s =
                ControlServer.start(ControlServer.Options.unix(sock).withGroup(group[0]), new FakeControl(), null)) {
            assertEquals(0660, mode(sock), "socket mode with --control-group");
            assertEquals(Integer.parseInt(group[1]), Files.getAttribute(sock, "unix:gid"), "socket group");
            assertEquals(uid(), Files.getAttribute(sock, "unix:uid"));
            assertEquals(0750, mode(sock.getParent()), "the group may pass the directory, not write it");
            assertEquals(Integer.parseInt(group[1]), Files.getAttribute(sock.getParent(), "unix:gid"));
        }
        VswitchException e = assertThrows(
                VswitchException.class,
                () -> ControlServer.start(
                        ControlServer.Options.unix(dir.resolve("x.ctl")).withGroup("no-such-group-pq"),
                        new FakeControl(),
                        null));
        assertEquals(400, e.status());
        assertEquals("--control-group: no group named 'no-such-group-pq'", e.getMessage());
    }

    /** A group this process may give files to, other than its own: {name, gid}. */
    private static String[] otherGroup() throws IOException {
        int myGid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:gid");
        List<String> mine = new ArrayList<>();
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("Groups:")) {
                mine.addAll(List.of(l.substring(7).strip().split("\\s+")));
            }
        }
        for (String l : Files.readAllLines(Path.of("/etc/group"))) {
            String[] f = l.split(":");
            if (f.length >= 3 && !f[2].equals(Integer.toString(myGid)) && (uid() == 0 || mine.contains(f[2]))) {
                return new String[] {f[0], f[2]};
            }
        }
        throw new IllegalStateException("no group other than gid " + myGid + " this user may chgrp to; run as root");
    }

    @Test
    void unsafeDirectoriesAreRefused() throws Exception {
        Path open = Files.createDirectory(dir.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        VswitchException e = assertThrows(
                VswitchException.class, () -> ControlServer.start(open.resolve("v.ctl"), new FakeControl(), null));
        assertEquals(400, e.status());
        assertEquals(
                "control socket directory " + open + " is mode 0777: writable by group or others without the sticky"
                        + " bit, so they could replace the socket (chmod go-w " + open + ")",
                e.getMessage());
        // below it too: whoever may rename 'open/sub' could swap the socket
        Path sub = Files.createDirectory(open.resolve("sub"));
        assertThrows(VswitchException.class, () -> ControlServer.start(sub.resolve("v.ctl"), new FakeControl(), null));
        // sticky (as /tmp): others cannot rename or delete what is not theirs
        Files.setAttribute(open, "unix:mode", 01777);
        try (ControlServer s = ControlServer.start(open.resolve("v.ctl"), new FakeControl(), null)) {
            assertEquals(0600, mode(open.resolve("v.ctl")));
        }
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwx------"));
    }

    // --- TCP and its token ------------------------------------------------------------------

    Path tokenFile(String token, String mode) throws IOException {
        Path f = dir.resolve("token-" + mode);
        Files.writeString(f, token + "\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(mode));
        return f;
    }

    @Test
    void tokenFilesReadableByOthersOrWeakAreRefused() throws Exception {
        Path loose = tokenFile(TOKEN, "rw-r--r--");
        VswitchException e = assertThrows(VswitchException.class, () -> ControlToken.read(loose));
        assertEquals(
                "control token " + loose + ": mode 0644 lets group or others read it; chmod 600 " + loose,
                e.getMessage());
        assertThrows(VswitchException.class, () -> ControlToken.read(tokenFile(TOKEN, "rw-r-----")));
        assertThrows(VswitchException.class, () -> ControlToken.read(tokenFile("short", "rw-------")));
        assertThrows(
                VswitchException.class, () -> ControlToken.read(tokenFile("has space in it 0123456", "rw-------")));
        assertThrows(VswitchException.class, () -> ControlToken.read(dir.resolve("missing")));
        ControlToken t = ControlToken.read(tokenFile(TOKEN, "rw-------"));
        assertTrue(t.matches("Bearer " + TOKEN));
        assertTrue(t.matches("bearer " + TOKEN), "the scheme is case-insensitive");
        assertFalse(t.matches(null));
        assertFalse(t.matches(TOKEN), "no scheme");
        assertFalse(t.matches("Basic " + TOKEN));
        assertFalse(t.matches("Bearer " + TOKEN.substring(0, TOKEN.length() - 1)), "a prefix");
        assertFalse(t.matches("Bearer " + TOKEN + "x"), "longer");
        assertFalse(t.matches("Bearer x" + TOKEN.substring(1)), "first character differs");
    }

    ControlServer tcpServer(FakeControl control, ControlLimits limits) {
        return ControlServer.start(
                ControlServer.Options.unix(dir.resolve("t.ctl"))
                        .withTcp(new InetSocketAddress("127.0.0.1", 0), ControlToken.of(TOKEN))
                        .withLimits(limits),
                control,
                null);
    }

    static String post(String auth) {
        String body = "{\"name\": \"br0\"}";
        return "POST /v1/bridges HTTP/1.1\r\nHost: x\r\n" + (auth == null ? "" : "Authorization: " + auth + "\r\n")
                + "Content-Length: " + body.length() + "\r\n\r\n" + body;
    }

    @Test
    void tcpListenerWantsTheToken() throws Exception {
        FakeControl control = new FakeControl();
        try (ControlServer s = tcpServer(control, ControlLimits.DEFAULT)) {
            InetSocketAddress tcp = s.tcpAddress();
            assertNotNull(tcp);
            for (String auth : new String[] {null, "Bearer wrong-token-0123456789", "Bearer", "Basic " + TOKEN}) {
                Raw.Result r = Raw.exchange(tcp, post(auth));
                assertEquals(401, r.status(), auth + ": " + r.text());
                assertTrue(r.closed(), "connection closed after 401");
                assertTrue(r.text().toLowerCase(java.util.Locale.ROOT).contains("www-authenticate: bearer"), r.text());
                assertTrue(r.text().contains("\"status\" : 401"), r.text());
                assertEquals(1, r.text().split("HTTP/1.1 ", -1).length - 1, "one answer and nothing else");
            }
            // malformed, unknown path, pipelined: still 401 and nothing else
            for (String req : new String[] {
                "GARBAGE\r\n\r\n",
                "GET /v1/nope HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET /v1/show HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/show HTTP/1.1\r\nAuthorization: Bearer " + TOKEN
                        + "\r\n\r\n"
            }) {
                Raw.Result r = Raw.exchange(tcp, req);
                assertEquals(401, r.status(), r.text());
                assertFalse(r.text().contains("bridges"), r.text());
            }
            assertTrue(control.bridges.isEmpty(), "nothing done without the token");
            assertTrue(control.threads.isEmpty(), "Control never called without the token");
            assertEquals(7, s.counters().unauthorized());

            Raw.Result ok = Raw.exchange(
                    tcp, post("Bearer " + TOKEN).replace("HTTP/1.1\r\n", "HTTP/1.1\r\nConnection: close\r\n"));
            assertEquals(201, ok.status(), ok.text());
            assertEquals(List.of("br0"), List.copyOf(control.bridges.keySet()));

            // panda ctl over TCP, with a token file
            Path good = tokenFile(TOKEN, "rw-------");
            String control1 = "tcp:127.0.0.1:" + tcp.getPort();
            String[] out = ctl("--control", control1, "--token", good.toString(), "--json", "show");
            assertEquals("0", out[0], out[2]);
            assertEquals(
                    "br0",
                    dev.panda.vswitch.control.Json.MAPPER
                            .readTree(out[1])
                            .at("/bridges/0/name")
                            .asText());
            Path bad = dir.resolve("bad-token");
            Files.writeString(bad, "not-the-right-token-0123456789\n");
            Files.setPosixFilePermissions(bad, PosixFilePermissions.fromString("rw-------"));
            out = ctl("--control", control1, "--token", bad.toString(), "show");
            assertEquals("2", out[0]);
            assertTrue(out[2].startsWith("panda ctl: unauthorized"), out[2]);
            out = ctl("--control", control1, "show");
            assertEquals("2", out[0]);
            assertTrue(out[2].contains("needs --token FILE"), out[2]);
            out = ctl(
                    "--control",
                    control1,
                    "--token",
                    tokenFile(TOKEN, "rw-rw-r--").toString(),
                    "show");
            assertEquals("2", out[0]);
            assertTrue(out[2].contains("lets group or others read it"), out[2]);
            // the unix socket needs no token
            assertEquals(
                    200,
                    new CtlClient(s.path(), Duration.ofSeconds(5))
                            .call("GET", "/v1/show", null, null)
                            .status());
        }
    }

    static String[] ctl(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = dev.panda.vswitch.ctl.CtlMain.run(
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new String[] {
            Integer.toString(rc), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)
        };
    }

    // --- bounds ---------------------------------------------------------------------------------

    @Test
    void oversizedRequestsAreRefused() throws Exception {
        try (ControlServer s = ControlServer.start(dir.resolve("o.ctl"), new FakeControl(), null)) {
            Path sock = s.path();
            Raw.Result r = Raw.exchange(sock, "GET /" + "a".repeat(5000) + " HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(414, r.status(), r.text());
            assertTrue(r.closed());
            r = Raw.exchange(sock, "GET /v1/show HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(9000) + "\r\n\r\n");
            assertEquals(431, r.status(), r.text());
            StringBuilder many = new StringBuilder("GET /v1/show HTTP/1.1\r\nHost: x\r\n");
            for (int i = 0; i < 65; i++) {
                many.append("X-H").append(i).append(": v\r\n");
            }
            r = Raw.exchange(sock, many.append("\r\n").toString());
            assertEquals(431, r.status(), r.text());
            assertTrue(r.text().contains("more than 64 header fields"), r.text());
            r = Raw.exchange(sock, "POST /v1/bridges HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n{");
            assertEquals(413, r.status(), r.text());
            assertTrue(r.closed());
            assertEquals(
                    200,
                    new CtlClient(sock, Duration.ofSeconds(5))
                            .call("GET", "/v1/show", null, null)
                            .status());
        }
    }

    /**
     * Slowloris: one client dribbles its headers a byte at a time, one never finishes its body, one
     * connects and says nothing; each is answered 408 and cut off within the request timeout (1.5
     * s here) while a fourth client's calls are all answered, none slower than 1 s.
     */
    @Test
    void slowClientsAreCutOffWhileOthersAreServed() throws Exception {
        Duration timeout = Duration.ofMillis(1500);
        FakeControl control = new FakeControl();
        try (ControlServer s = tcpServer(control, ControlLimits.DEFAULT.withRequestTimeout(timeout))) {
            for (Object where : new Object[] {s.path(), s.tcpAddress()}) {
                String auth = where instanceof Path ? "" : "Authorization: Bearer " + TOKEN + "\r\n";
                ExecutorService pool = Executors.newFixedThreadPool(3);
                try {
                    Future<Raw.Result> dribble = pool.submit(() -> {
                        try (Raw r = Raw.open(where)) {
                            String req = "GET /v1/show HTTP/1.1\r\nHost: x\r\n" + auth + "X-Slow: " + "z".repeat(100);
                            for (int i = 0; i < req.length() && !r.pump(); i++) {
                                r.send(req.substring(i, i + 1));
                                Raw.sleep(50);
                            }
                            return r.read(Duration.ofSeconds(6));
                        }
                    });
                    Future<Raw.Result> body = pool.submit(() -> {
                        try (Raw r = Raw.open(where)) {
                            r.send("POST /v1/bridges HTTP/1.1\r\nHost: x\r\n" + auth
                                    + "Content-Length: 100\r\n\r\n{\"name\"");
                            return r.read(Duration.ofSeconds(6));
                        }
                    });
                    Future<Raw.Result> silent = pool.submit(() -> {
                        try (Raw r = Raw.open(where)) {
                            return r.read(Duration.ofSeconds(6));
                        }
                    });
                    CtlClient good = where instanceof Path p
                            ? new CtlClient(p, Duration.ofSeconds(5))
                            : CtlClient.tcp((InetSocketAddress) where, TOKEN, Duration.ofSeconds(5));
                    long end = System.nanoTime() + 2_500_000_000L;
                    int served = 0;
                    while (System.nanoTime() < end) {
                        long t0 = System.nanoTime();
                        assertEquals(
                                200, good.call("GET", "/v1/show", null, null).status());
                        long ms = (System.nanoTime() - t0) / 1_000_000;
                        assertTrue(ms < 1000, "a call took " + ms + " ms while slow clients were connected");
                        served++;
                        Thread.sleep(100);
                    }
                    assertTrue(served >= 10, "served " + served);
                    for (Future<Raw.Result> f : List.of(dribble, body, silent)) {
                        Raw.Result r = f.get(10, TimeUnit.SECONDS);
                        assertTrue(r.closed(), where + ": slow client still connected: " + r.text());
                        assertTrue(
                                r.closedAfterMillis() >= timeout.toMillis() - 50
                                        && r.closedAfterMillis() <= timeout.toMillis() + 1500,
                                where + ": closed after " + r.closedAfterMillis() + " ms");
                        assertEquals(408, r.status(), r.text());
                    }
                } finally {
                    pool.shutdownNow();
                }
            }
            assertTrue(control.bridges.isEmpty(), "the unfinished POST did nothing");
            assertEquals(6, s.counters().timeouts());
            assertEquals(0, s.counters().exceptions());
        }
    }

    /**
     * A client pipelines 24 POSTs of 512 KiB (12 MiB) on one connection while the first call is
     * blocked: the server stops reading once the requests it holds pass the 256 KiB budget, so the
     * client's writes stall after the first request, the socket buffers and one read, instead of
     * the whole 12 MiB being read into memory. Once the call returns every request is answered, in
     * order, and nothing is lost.
     */
    @Test
    void pipelinedBodiesStallTheClientInsteadOfFillingTheHeap() throws Exception {
        FakeControl control = new FakeControl();
        CountDownLatch gate = new CountDownLatch(1);
        control.gate = gate;
        int n = 24;
        int size = 512 << 10;
        long total = 0;
        List<byte[]> requests = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String body = "{\"name\": \"br" + i + "\"}";
            byte[] r = ("POST /v1/bridges HTTP/1.1\r\nHost: x\r\nContent-Length: " + size + "\r\n\r\n" + body
                            + " ".repeat(size - body.length()))
                    .getBytes(StandardCharsets.ISO_8859_1);
            requests.add(r);
            total += r.length;
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (ControlServer s = ControlServer.start(dir.resolve("p.ctl"), control, null);
                SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(s.path()))) {
            AtomicLong written = new AtomicLong();
            Future<?> writer = pool.submit(() -> {
                for (byte[] r : requests) {
                    for (int off = 0; off < r.length; off += 16384) {
                        written.addAndGet(ch.write(ByteBuffer.wrap(r, off, Math.min(16384, r.length - off))));
                    }
                }
                return null;
            });
            // until the writer has made no progress for 1 s (or has written everything; 20 s at most)
            long last = -1;
            long stillSince = System.nanoTime();
            long end = stillSince + 20_000_000_000L;
            while (!writer.isDone() && System.nanoTime() < end) {
                long w = written.get();
                if (w != last) {
                    last = w;
                    stillSince = System.nanoTime();
                } else if (System.nanoTime() - stillSince > 1_000_000_000L) {
                    break;
                }
                Thread.sleep(20);
            }
            assertFalse(writer.isDone(), "the server read all " + total + " bytes while a call was blocked");
            assertTrue(written.get() < 4 << 20, "the server took " + written.get() + " bytes");
            // PRE assertEquals(1, s.counters().readsHeld());
            gate.countDown();
            Future<String> answers = pool.submit(() -> {
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
                while (got.toString(StandardCharsets.ISO_8859_1).split("HTTP/1.1 ", -1).length - 1 < n
                        && ch.read(buf) >= 0) {
                    got.write(buf.array(), 0, buf.position());
                    buf.clear();
                }
                return got.toString(StandardCharsets.ISO_8859_1);
            });
            writer.get(20, TimeUnit.SECONDS);
            String text = answers.get(20, TimeUnit.SECONDS);
            assertEquals(n, text.split("HTTP/1.1 201 ", -1).length - 1, text);
            for (int i = 1; i < n; i++) {
                assertTrue(text.indexOf("\"br" + (i - 1) + "\"") < text.indexOf("\"br" + i + "\""), "answers in order");
            }
            assertEquals(n, control.bridges.size());
            assertEquals(0, s.counters().errors());
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The control API's counters reach {@code /metrics}: a 401 on TCP, a 413 and a 408 on the
     * socket and one good call are scraped as {@code panda_control_*} values.
     */
    @Test
    void controlCountersAreExportedAsMetrics() throws Exception {
        try (ControlServer s =
                        tcpServer(new FakeControl(), ControlLimits.DEFAULT.withRequestTimeout(Duration.ofMillis(500)));
                MetricsServer m = MetricsServer.start(
                        new InetSocketAddress("127.0.0.1", 0), new FakeControl(), null, s.counters())) {
            assertEquals(401, Raw.exchange(s.tcpAddress(), post(null)).status());
            assertEquals(
                    413,
                    Raw.exchange(s.path(), "POST /v1/bridges HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n{")
                            .status());
            try (Raw silent = Raw.unix(s.path())) {
                assertEquals(408, silent.read(Duration.ofSeconds(5)).status());
            }
            assertEquals(
                    200,
                    new CtlClient(s.path(), Duration.ofSeconds(5))
                            .call("GET", "/v1/show", null, null)
                            .status());
            HttpResponse<String> r = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create(
                                            "http://127.0.0.1:" + m.address().getPort() + "/metrics"))
                                    .timeout(Duration.ofSeconds(10))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            List<String> lines = List.of(r.body().split("\n"));
            for (String want : List.of(
                    "panda_control_requests_total 4.0",
                    "panda_control_errors_total 3.0",
                    "panda_control_unauthorized_total 1.0",
                    "panda_control_timeouts_total 1.0",
                    "panda_control_refused_connections_total 0.0",
                    "panda_control_exceptions_total 0.0",
                    "panda_control_reads_held_total 0.0")) {
                assertTrue(lines.contains(want), "no '" + want + "' in\n" + r.body());
            }
        }
    }

    /**
     * {@code Expect} as curl sends it: {@code 100-continue} with a body over the limit is a JSON
     * 413 and the connection closes (no {@code 100 Continue}, no late 408); an expectation other
     * than {@code 100-continue} is a JSON 417; {@code 100-continue} with a body that fits gets
     * {@code 100 Continue}, then the answer; and on a connection with a call in flight no {@code
     * 100 Continue} goes out ahead of that call's answer.
     */
    @Test
    void expectHeadersGetJsonAnswersInOrder() throws Exception {
        FakeControl control = new FakeControl();
        try (ControlServer s = ControlServer.start(dir.resolve("e.ctl"), control, null)) {
            try (Raw r = Raw.unix(s.path())) {
                r.send("POST /v1/bridges HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " + (2 << 20)
                        + "\r\nContent-Type: application/json\r\n\r\n");
                Raw.Result res = r.read(Duration.ofSeconds(5));
                assertTrue(res.closed(), "connection left open: " + res.text());
                assertEquals(413, res.status(), res.text());
                assertTrue(res.text().contains("\"status\" : 413"), res.text());
                assertEquals(1, res.text().split("HTTP/1.1 ", -1).length - 1, "one answer only: " + res.text());
            }
            Raw.Result res = Raw.exchange(s.path(), "GET /v1/show HTTP/1.1\r\nHost: x\r\nExpect: x\r\n\r\n");
            assertEquals(417, res.status(), res.text());
            assertTrue(res.closed());
            assertTrue(
                    res.text().contains("\"error\" : \"unsupported expectation 'x': only 100-continue\""), res.text());
            String body = "{\"name\": \"br0\"}";
            String head = "POST /v1/bridges HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: "
                    + body.length() + "\r\n\r\n";
            try (Raw r = Raw.unix(s.path())) {
                r.send(head);
                long end = System.nanoTime() + 5_000_000_000L;
                while (!r.read(Duration.ZERO).text().contains("\r\n\r\n") && System.nanoTime() < end) {
                    Raw.sleep(5);
                }
                assertEquals(
                        "HTTP/1.1 100 Continue\r\n\r\n", r.read(Duration.ZERO).text());
                r.send(body + "GET /v1/show HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                String text = r.read(Duration.ofSeconds(5)).text();
                assertTrue(text.contains("HTTP/1.1 201 "), text);
            }
            // a call in flight: the pipelined request's 100 Continue must not come before its answer
            CountDownLatch gate = new CountDownLatch(1);
            control.gate = gate;
            try (Raw r = Raw.unix(s.path())) {
                r.send("GET /v1/show HTTP/1.1\r\nHost: x\r\n\r\n" + head.replace("br0", "br1"));
                gate.countDown();
                long end = System.nanoTime() + 5_000_000_000L;
                while (!r.read(Duration.ZERO).text().contains("\r\n\r\n") && System.nanoTime() < end) {
                    Raw.sleep(5);
                }
                assertTrue(
                        r.read(Duration.ZERO).text().startsWith("HTTP/1.1 200 "),
                        r.read(Duration.ZERO).text());
            }
            assertEquals(2, s.counters().errors());
            assertEquals(0, s.counters().exceptions());
        }
    }

    @Test
    void connectionsAreLimitedPerListener() throws Exception {
        try (ControlServer s = tcpServer(new FakeControl(), ControlLimits.DEFAULT.withMaxConnections(4))) {
            List<Raw> held = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    held.add(Raw.tcp(s.tcpAddress()));
                }
                Thread.sleep(200);
                try (Raw extra = Raw.tcp(s.tcpAddress())) {
                    Raw.Result r = extra.read(Duration.ofSeconds(3));
                    assertTrue(r.closed() && r.text().isEmpty(), "a fifth TCP connection was kept: " + r);
                }
                // the unix socket has its own budget: a flood on TCP leaves it usable
                assertEquals(
                        200,
                        new CtlClient(s.path(), Duration.ofSeconds(5))
                                .call("GET", "/v1/show", null, null)
                                .status());
                assertEquals(1, s.counters().refusedConnections());
            } finally {
                for (Raw r : held) {
                    r.close();
                }
            }
            Thread.sleep(200);
            CtlClient tcp = CtlClient.tcp(s.tcpAddress(), TOKEN, Duration.ofSeconds(5));
            assertEquals(200, tcp.call("GET", "/v1/show", null, null).status(), "slots freed");
        }
    }

    @Test
    void refusedBodiesNameTheField() throws Exception {
        FakeControl control = new FakeControl();
        try (ControlServer s = ControlServer.start(dir.resolve("f.ctl"), control, null)) {
            CtlClient c = new CtlClient(s.path(), Duration.ofSeconds(5));
            control.addBridge(dev.panda.vswitch.config.BridgeConfig.of("br0"));
            String[][] cases = {
                {"/v1/bridges", "{\"name\": \"b\", \"colour\": 1}", "colour"},
                {"/v1/bridges", "{\"name\": true}", "name"},
                {"/v1/bridges", "{\"name\": \"b\", \"mac-aging\": \"long\"}", "mac-aging"},
                {"/v1/bridges", "{\"name\": \"b\", \"ports\": {}}", "ports"},
                {"/v1/bridges/br0/ports", "{\"name\": \"p\", \"device\": \"d\", \"trunks\": [1, \"x\"]}", "trunks[1]"},
                {"/v1/bridges/br0/ports", "{\"name\": \"p\", \"device\": 5, \"tag\": 1.5}", "tag"},
                {"/v1/bridges/br0/ports", "{\"name\": \"p\", \"device\": \"d\", \"tag\": 99999999999}", "tag"},
                {"/v1/bridges/br0/ports", "{\"name\": \"p\", \"device\": \"d\", \"tag\": 1, \"tag\": 2}", "tag"},
                {"/v1/bridges/br0/ports", "{\"name\": \"p\", \"device\": \"d\", \"tag\": ", "tag"},
            };
            String before = Json.MAPPER.writeValueAsString(control.config());
            for (String[] k : cases) {
                CtlClient.Answer a = c.call("POST", k[0], k[1].getBytes(StandardCharsets.UTF_8), null);
                assertEquals(400, a.status(), k[1] + " -> " + a.text());
                JsonNode n = Json.MAPPER.readTree(a.body());
                assertEquals(k[2], n.path("field").asText(), k[1] + " -> " + a.text());
                assertTrue(n.get("error").asText().startsWith(k[2] + ": "), a.text());
                assertEquals(400, n.get("status").asInt());
            }
            assertEquals(before, Json.MAPPER.writeValueAsString(control.config()), "nothing changed");
        }
    }
}
