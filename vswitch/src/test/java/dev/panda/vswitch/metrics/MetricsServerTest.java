package dev.panda.vswitch.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.FakeControl;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PortConfig;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The metrics listener with a fake vswitch behind it: the exposition (both formats, checked by
 * promtool), and that it serves nothing but {@code GET}/{@code HEAD /metrics}.
 */
class MetricsServerTest {

    FakeControl control;
    MetricsServer server;
    HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeEach
    void start() {
        control = new FakeControl();
        control.addBridge(BridgeConfig.of("br0"));
        control.addPort("br0", PortConfig.of("vm1", "net_vhost0,iface=/nonexistent/vm1.sock"));
        control.addPort("br0", PortConfig.of("c1", "net_af_xdp0,iface=veth-c1"));
        control.threads.clear();
        server = MetricsServer.start(new InetSocketAddress("127.0.0.1", 0), control, null);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.address().getPort() + path);
    }

    HttpResponse<String> send(String method, String path, String accept) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path))
                .timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (accept != null) {
            b.header("Accept", accept);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void textFormatHasEveryMetricWithTheVswitchsValues() throws Exception {
        HttpResponse<String> r = send("GET", "/metrics", null);
        assertEquals(200, r.statusCode());
        assertEquals(
                "text/plain; version=0.0.4; charset=utf-8",
                r.headers().firstValue("Content-Type").orElseThrow());
        String body = r.body();
        for (String name : VswitchCollector.NAMES) {
            if (name.startsWith("panda_pipeline_")) {
                continue; // the fake has no pipeline stages (VswitchMetricsPrometheusTest runs one)
            }
            assertTrue(
                    body.contains("\n# TYPE " + name.replaceAll("_total$", "") + " ")
                            || body.contains("\n# TYPE " + name + " "),
                    "no " + name);
        }
        // FakeControl's counters: vm1 rx 10 packets / 640 bytes, tx 12 / 768; 2 VLAN drops; c1 rx 12
        assertLine(body, "panda_port_rx_packets_total{bridge=\"br0\",port=\"vm1\"} 10.0");
        assertLine(body, "panda_port_tx_packets_total{bridge=\"br0\",port=\"vm1\"} 12.0");
        assertLine(body, "panda_port_rx_bytes_total{bridge=\"br0\",port=\"vm1\"} 640.0");
        assertLine(body, "panda_port_tx_bytes_total{bridge=\"br0\",port=\"vm1\"} 768.0");
        assertLine(body, "panda_port_rx_packets_total{bridge=\"br0\",port=\"c1\"} 12.0");
        assertLine(body, "panda_port_drops_total{bridge=\"br0\",port=\"vm1\",reason=\"vlan\"} 2.0");
        assertLine(body, "panda_fdb_entries{bridge=\"br0\"} 2.0");
        assertLine(body, "panda_port_link_up{bridge=\"br0\",port=\"c1\"} 1.0");
        assertLine(body, "panda_pmd_busy_ratio{pmd=\"pmd-1\"} 0.25");
        assertLine(body, "panda_pmd_busy_cycles_per_packet{pmd=\"pmd-1\"} 361.5");
        assertLine(body, "panda_pmd_packets_total{pmd=\"pmd-1\"} 22.0");
        assertLine(body, "panda_flow_cache_hits_total{pmd=\"pmd-1\"} 20.0");
        assertLine(body, "panda_flow_cache_misses_total{pmd=\"pmd-1\"} 2.0");
        assertLine(body, "panda_flow_table_active{bridge=\"br0\",table=\"0\"} 3.0");
        assertLine(body, "panda_flow_table_lookups_total{bridge=\"br0\",table=\"0\"} 22.0");
        assertLine(body, "panda_flow_table_matched_total{bridge=\"br0\",table=\"0\"} 21.0");
        assertLine(body, "panda_openflow_packet_ins_total{bridge=\"br0\",outcome=\"queued\"} 40.0");
        assertLine(body, "panda_openflow_packet_ins_total{bridge=\"br0\",outcome=\"dropped\"} 7.0");
        assertLine(body, "panda_openflow_packet_ins_total{bridge=\"br0\",outcome=\"no_controller\"} 3.0");
        assertLine(body, "panda_openflow_flow_removed_total{bridge=\"br0\",outcome=\"queued\"} 12.0");
        assertLine(body, "panda_openflow_flow_removed_total{bridge=\"br0\",outcome=\"dropped\"} 5.0");
        assertTrue(body.contains("\njvm_gc_collection_seconds_count{"), "GC counts");
        assertTrue(body.contains("\njvm_memory_used_bytes{area=\"heap\"}"), "heap");
        // the scrape ran on the metrics executor, never on the event loop
        assertTrue(control.threads.stream().allMatch("panda-metrics-exec"::equals), control.threads.toString());
        assertEquals(List.of(), promtool(body), "promtool check metrics");
    }

    @Test
    void openMetricsWhenAsked() throws Exception {
        // what Prometheus 2.x sends
        HttpResponse<String> r = send(
                "GET",
                "/metrics",
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                        + "text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
        assertEquals(200, r.statusCode());
        assertEquals(
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                r.headers().firstValue("Content-Type").orElseThrow());
        assertTrue(r.body().endsWith("# EOF\n"), "OpenMetrics ends with # EOF");
        assertTrue(r.body().contains("\n# UNIT panda_port_rx_bytes bytes\n"), r.body());
        assertLine(r.body(), "panda_port_rx_packets_total{bridge=\"br0\",port=\"vm1\"} 10.0");
        // the text format again for a plain Accept
        r = send("GET", "/metrics?x=1", "text/plain");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElseThrow().startsWith("text/plain; version=0.0.4"));
    }

    @Test
    void servesOnlyGetAndHeadOfMetrics() throws Exception {
        HttpResponse<String> head = send("HEAD", "/metrics", null);
        assertEquals(200, head.statusCode());
        assertTrue(Long.parseLong(head.headers().firstValue("Content-Length").orElseThrow()) > 1000);
        assertEquals("", head.body());
        for (String path : List.of(
                "/", "/v1/show", "/v1/bridges", "/v1/pmd-stats/clear", "/metrics/", "/metricsx", "/v1/config")) {
            assertEquals(404, send("GET", path, null).statusCode(), path);
        }
        for (String method : List.of("POST", "PUT", "DELETE", "PATCH", "OPTIONS")) {
            HttpResponse<String> r = send(method, "/metrics", null);
            assertEquals(405, r.statusCode(), method);
            assertEquals("GET, HEAD", r.headers().firstValue("Allow").orElseThrow());
            assertEquals(404, send(method, "/v1/bridges/br0", null).statusCode(), method);
            assertEquals(404, send(method, "/v1/pmd-stats/clear", null).statusCode(), method);
        }
        // nothing reached the vswitch but reads
        assertEquals(List.of("br0"), List.copyOf(control.bridges.keySet()));
        assertEquals(0, control.pmdClears);
        assertEquals(1, server.counters().answers(200));
        assertEquals(7 + 2 * 5, server.counters().answers(404));
        assertEquals(5, server.counters().answers(405));
    }

    @Test
    void malformedAndOversizedRequestsAreRefusedAndTheServerGoesOn() throws Exception {
        assertTrue(raw("GARBAGE\r\n\r\n").startsWith("HTTP/1.1 400 "), "garbage");
        assertTrue(
                raw("GET /" + "a".repeat(5000) + " HTTP/1.1\r\nHost: x\r\n\r\n").startsWith("HTTP/1.1 400 "));
        assertTrue(raw("GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + "b".repeat(9000) + "\r\n\r\n")
                .startsWith("HTTP/1.1 400 "));
        assertTrue(raw("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n" + "c".repeat(20000))
                .startsWith("HTTP/1.1 413 "));
        assertTrue(
                raw("GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startsWith("HTTP/1.1 400 "));
        // Expect as curl sends it: over the limit, 413 and closed (no bare answer left open); another
        // expectation, 417
        String big = raw("GET /metrics HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " + (2 << 20)
                + "\r\n\r\n");
        assertTrue(big.startsWith("HTTP/1.1 413 ") && big.endsWith("request larger than 8192 bytes\n"), big);
        String odd = raw("GET /metrics HTTP/1.1\r\nHost: x\r\nExpect: x\r\n\r\n");
        assertTrue(
                odd.startsWith("HTTP/1.1 417 ") && odd.endsWith("unsupported expectation 'x': only 100-continue\n"),
                odd);
        assertEquals(1, server.counters().answers(417));
        // two pipelined scrapes on one connection: two answers, in order
        String two = raw("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n"
                + "Connection: close\r\n\r\n");
        assertTrue(two.startsWith("HTTP/1.1 200 "), two.substring(0, 40));
        assertTrue(two.contains("\nHTTP/1.1 404 "), "second answer");
        // a scrape that fails: 500 with one line, and the next one works
        control.failNext = new IllegalStateException("boom");
        HttpResponse<String> r = send("GET", "/metrics", null);
        assertEquals(500, r.statusCode());
        assertEquals("scrape failed: boom\n", r.body());
        assertEquals(200, send("GET", "/metrics", null).statusCode());
        // one that throws an Error: answered all the same, never left waiting
        control.errorNext = new AssertionError("broken invariant");
        r = send("GET", "/metrics", null);
        assertEquals(500, r.statusCode());
        assertEquals("scrape failed: broken invariant\n", r.body());
        assertEquals(200, send("GET", "/metrics", null).statusCode());
        assertEquals(2, server.counters().answers(413));
        assertTrue(server.counters().answers(400) >= 4);
    }

    /**
     * Slow clients on a listener with a 600 ms request deadline: one trickling its headers a byte
     * every 100 ms (never idle for the 60 s idle timer) and one that connects and says nothing are
     * each answered 408 and cut off within the deadline; on the default listener a connection over
     * the limit is refused; all of it counted and scraped.
     */
    @Test
    void slowClientsAreCutOffAndCounted() throws Exception {
        try (MetricsServer m = MetricsServer.start(
                new InetSocketAddress("127.0.0.1", 0), control, null, null, Duration.ofMillis(600))) {
            for (String start : new String[] {"GET /metrics HTTP/1.1\r\nHost: x\r\n", null}) {
                try (Socket s = new Socket("127.0.0.1", m.address().getPort())) {
                    s.setSoTimeout(100);
                    long t0 = System.nanoTime();
                    OutputStream o = s.getOutputStream();
                    ByteArrayOutputStream got = new ByteArrayOutputStream();
                    boolean closed = false;
                    for (int i = 0; !closed && System.nanoTime() - t0 < 5_000_000_000L; i++) {
                        if (start != null) {
                            try {
                                o.write((i == 0 ? start : "X").getBytes(StandardCharsets.ISO_8859_1));
                            } catch (java.io.IOException reset) {
                                // closed under us: read what came
                            }
                        }
                        try {
                            int n = s.getInputStream().read();
                            if (n < 0) {
                                closed = true;
                            } else {
                                got.write(n);
                                got.write(s.getInputStream()
                                        .readNBytes(s.getInputStream().available()));
                            }
                        } catch (java.net.SocketTimeoutException nothingYet) {
                            // 100 ms passed: the next byte
                        } catch (java.net.SocketException reset) {
                            closed = true;
                        }
                    }
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    String text = got.toString(StandardCharsets.ISO_8859_1);
                    assertTrue(closed, "still connected after " + ms + " ms: " + text);
                    assertTrue(ms >= 500 && ms < 2500, "closed after " + ms + " ms");
                    assertTrue(text.startsWith("HTTP/1.1 408 "), text);
                }
            }
            assertEquals(2, m.counters().timeouts());
            assertEquals(2, m.counters().answers(408));
            HttpResponse<String> r = http.send(
                    HttpRequest.newBuilder(
                                    URI.create("http://127.0.0.1:" + m.address().getPort() + "/metrics"))
                            .timeout(Duration.ofSeconds(10))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertLine(r.body(), "panda_metrics_timeouts_total 2.0");
            assertLine(r.body(), "panda_metrics_requests_total{code=\"408\"} 2.0");
            assertLine(r.body(), "panda_metrics_refused_connections_total 0.0");
            assertLine(r.body(), "panda_metrics_exceptions_total 0.0");
        }
        // the default listener (10 s deadline): one connection over the limit is refused and counted;
        // the scrape goes over a connection that was let in
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < MetricsServer.MAX_CONNECTIONS + 1; i++) {
                held.add(new Socket("127.0.0.1", server.address().getPort()));
            }
            Socket extra = held.getLast();
            extra.setSoTimeout(5000);
            assertEquals(-1, extra.getInputStream().read(), "a connection over the limit was kept");
            assertEquals(1, server.counters().refusedConnections());
            Socket first = held.getFirst();
            first.setSoTimeout(10_000);
            first.getOutputStream()
                    .write("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                            .getBytes(StandardCharsets.ISO_8859_1));
            String body = new String(first.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(body.startsWith("HTTP/1.1 200 "), body);
            assertLine(body, "panda_metrics_refused_connections_total 1.0");
        } finally {
            for (Socket h : held) {
                h.close();
            }
        }
    }

    /** An unexpected exception in a connection's handlers is counted and closes it; a reset is not counted. */
    @Test
    void handlerExceptionsAreCounted() {
        MetricsServer.Counters counters = new MetricsServer.Counters();
        for (Throwable t : new Throwable[] {new IllegalStateException("a bug"), new java.io.IOException("reset")}) {
            io.netty.channel.embedded.EmbeddedChannel ch = new io.netty.channel.embedded.EmbeddedChannel();
            MetricsServer.pipeline(ch.pipeline(), a -> null, Runnable::run, counters, Duration.ofSeconds(10));
            ch.pipeline().fireExceptionCaught(t);
            assertTrue(!ch.isActive(), "connection closed after " + t);
            ch.finishAndReleaseAll();
        }
        assertEquals(1, counters.exceptions());
    }

    /**
     * A scrape makes the JVM stop no thread: no safepoint VM operation of its own (JvmMetrics'
     * deadlock detection would be two per scrape, FindDeadlocks, pausing the pollers too), seen
     * with JFR's ExecuteVMOperation events over 20 scrapes.
     */
    @Test
    void scrapesStopNoThreads() throws Exception {
        assertEquals(200, send("GET", "/metrics", null).statusCode()); // classes loaded, JIT warm
        Path file = Files.createTempFile("scrapes", ".jfr");
        List<String> ops = new ArrayList<>();
        try (Recording r = new Recording()) {
            r.enable("jdk.ExecuteVMOperation").withThreshold(Duration.ZERO);
            r.start();
            for (int i = 0; i < 20; i++) {
                assertEquals(200, send("GET", "/metrics", null).statusCode());
            }
            r.stop();
            r.dump(file);
            for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
                if (e.getBoolean("safepoint")) {
                    ops.add(e.getString("operation"));
                }
            }
        } finally {
            Files.deleteIfExists(file);
        }
        System.out.println("safepoint VM operations during 20 scrapes: " + ops);
        for (String op : ops) {
            assertTrue(
                    !op.contains("Deadlock") && !op.contains("ThreadDump") && !op.contains("StackTrace"),
                    "a scrape stopped the world: " + ops);
        }
    }

    /** Sends {@code request} on a fresh connection; everything read until the server closes it. */
    String raw(String request) throws Exception {
        try (Socket s = new Socket("127.0.0.1", server.address().getPort())) {
            s.setSoTimeout(10_000);
            OutputStream o = s.getOutputStream();
            try {
                o.write(request.getBytes(StandardCharsets.ISO_8859_1));
                o.flush();
            } catch (java.io.IOException e) {
                // the server may close before it has read everything (413): read what it answered
            }
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            try {
                for (int n; (n = in.read(buf)) > 0; ) {
                    got.write(buf, 0, n);
                }
            } catch (java.net.SocketException e) {
                // reset after the answer
            }
            return got.toString(StandardCharsets.ISO_8859_1);
        }
    }

    static void assertLine(String body, String line) {
        assertTrue(body.contains("\n" + line + "\n"), "no line '" + line + "' in:\n" + body);
    }

    /** {@code promtool check metrics} on {@code exposition}: its complaints (none when it exits 0). */
    static List<String> promtool(String exposition) throws Exception {
        Process p = new ProcessBuilder("promtool", "check", "metrics")
                .redirectErrorStream(true)
                .start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(exposition.getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "promtool did not finish");
        List<String> problems =
                new ArrayList<>(out.lines().filter(l -> !l.isBlank()).toList());
        if (p.exitValue() != 0 && problems.isEmpty()) {
            problems.add("exit " + p.exitValue());
        }
        return p.exitValue() == 0 ? List.of() : problems;
    }
}
