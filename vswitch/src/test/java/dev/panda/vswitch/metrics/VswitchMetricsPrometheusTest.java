package dev.panda.vswitch.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.jextract.Posix;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.MetricsConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.control.ControlServer;
import dev.panda.vswitch.ctl.CtlMain;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A real Prometheus server (Debian's {@code prometheus}, started here on 127.0.0.1 with a config
 * this test writes, on free ports, its data in a temporary directory, stopped by PID) scrapes a
 * real vswitch every second while traffic runs through br0 between two in-process ring ports.
 * Prometheus's query API must give per-port packet counters that {@code panda ctl port-stats}
 * brackets within one scrape (a sample taken after one port-stats call lies between it and the
 * next), then, with the traffic stopped, exactly the same counters. {@code promtool check metrics}
 * accepts the exposition of the live switch, and OpenMetrics is served when asked for.
 */
@Tag("peer")
class VswitchMetricsPrometheusTest {

    static final long A = 0x02_00_00_00_07_0aL, B = 0x02_00_00_00_07_0bL;
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void prometheusSeesWhatPortStatsSays(PmdConfig.Mode mode) throws Exception {
        int[] cpus = Posix.getAffinity();
        int base = 700 + 10 * mode.ordinal();
        Path sock = dir.resolve("vswitch.ctl");
        Ports drivers = Ports.discover();
        try (PacketPool pool = PacketPool.create(PoolConfig.defaults().withCount(8192))) {
            Port hostA = drivers.open("net_ring" + base + ",size=1024", PortContext.of(pool, 0));
            Port hostB = drivers.open("net_ring" + (base + 1) + ",size=1024", PortContext.of(pool, 0));
            BridgeConfig br0 = BridgeConfig.of("br0")
                    .withPorts(List.of(
                            PortConfig.of("a", "net_ring" + (base + 2) + ",size=1024,peer=net_ring" + base),
                            PortConfig.of("b", "net_ring" + (base + 3) + ",size=1024,peer=net_ring" + (base + 1))));
            VswitchConfig config = new VswitchConfig(
                    new PmdConfig(List.of(), mode, "yield", null, 256), List.of(br0), new MetricsConfig("127.0.0.1:0"));
            Vswitch vswitch = Vswitch.start(config, pool, new int[] {cpus[cpus.length - 1]}, false);
            ControlServer control = null;
            MetricsServer metrics = null;
            Process prometheus = null;
            Traffic traffic = new Traffic(pool, hostA, hostB);
            try {
                control = ControlServer.start(sock, vswitch, null);
                metrics = MetricsServer.start(config.metrics().address(), vswitch, null);
                assertTrue(
                        ctl(sock, "config-show").contains("\nmetrics:\n  listen: 127.0.0.1:0\n"),
                        "config-show keeps the metrics listener");
                int target = metrics.address().getPort();
                int api = freePort();
                prometheus = startPrometheus(target, api);
                String promUrl = "http://127.0.0.1:" + api;
                awaitReady(prometheus, promUrl);
                traffic.start();

                // wait until Prometheus has scraped the switch with traffic flowing
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (true) {
                    Map<String, Sample> s = latest(promUrl, "panda_port_rx_packets_total");
                    if (s.size() == 2 && s.values().stream().allMatch(x -> x.value > 0)) {
                        break;
                    }
                    assertTrue(System.nanoTime() < deadline, "Prometheus never scraped rx packets: " + s);
                    Thread.sleep(200);
                }

                // while traffic runs: a sample scraped after port-stats #1 lies between #1 and #2
                long firstRx = portStats(sock).get("a")[0];
                for (int round = 0; round < 3; round++) {
                    long t1 = System.currentTimeMillis();
                    Map<String, long[]> before = portStats(sock);
                    Map<String, Sample> rx;
                    Map<String, Sample> tx;
                    long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (true) {
                        rx = latest(promUrl, "panda_port_rx_packets_total");
                        tx = latest(promUrl, "panda_port_tx_packets_total");
                        if (rx.values().stream().allMatch(x -> x.millis >= t1)
                                && tx.values().stream().allMatch(x -> x.millis >= t1)
                                && rx.size() == 2
                                && tx.size() == 2) {
                            break;
                        }
                        assertTrue(System.nanoTime() < waitUntil, "no scrape after port-stats within 10 s");
                        Thread.sleep(100);
                    }
                    Map<String, long[]> after = portStats(sock);
                    for (String port : List.of("a", "b")) {
                        long[] b0 = before.get(port);
                        long[] b1 = after.get(port);
                        String what = mode + " round " + round + " port " + port;
                        between(what + " rx", b0[0], rx.get(port).value, b1[0]);
                        between(what + " tx", b0[1], tx.get(port).value, b1[1]);
                    }
                    System.out.printf(
                            "%s round %d: port-stats a rx %d..%d, Prometheus %d%n",
                            mode, round, before.get("a")[0], after.get("a")[0], (long) rx.get("a").value);
                }

                assertTrue(portStats(sock).get("a")[0] > firstRx, "traffic is not running");

                // traffic stopped: the next scrape equals port-stats exactly
                traffic.close();
                Map<String, long[]> settled = settle(sock);
                long t2 = System.currentTimeMillis();
                long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                Map<String, Sample> rx;
                Map<String, Sample> tx;
                Map<String, Sample> rxBytes;
                while (true) {
                    rx = latest(promUrl, "panda_port_rx_packets_total");
                    tx = latest(promUrl, "panda_port_tx_packets_total");
                    rxBytes = latest(promUrl, "panda_port_rx_bytes_total");
                    if (List.of(rx, tx, rxBytes).stream()
                            .allMatch(m -> m.size() == 2 && m.values().stream().allMatch(x -> x.millis > t2))) {
                        break;
                    }
                    assertTrue(System.nanoTime() < waitUntil, "no scrape after the traffic stopped");
                    Thread.sleep(100);
                }
                for (String port : List.of("a", "b")) {
                    assertEquals(settled.get(port)[0], rx.get(port).value, port + " rx packets");
                    assertEquals(settled.get(port)[1], tx.get(port).value, port + " tx packets");
                    assertEquals(settled.get(port)[2], rxBytes.get(port).value, port + " rx bytes");
                }
                assertEquals(
                        traffic.sent(), settled.get("a")[0] + settled.get("b")[0], "every frame sent was received");

                // the rest is in Prometheus too
                assertEquals(2, latest(promUrl, "panda_fdb_entries").get("br0").value);
                assertEquals(1, latest(promUrl, "panda_port_link_up").get("a").value);
                assertTrue(
                        !query(promUrl, "panda_pmd_busy_cycles_per_packet > 0").isEmpty(), "busy cycles per packet");
                assertTrue(!query(promUrl, "jvm_gc_collection_seconds_count").isEmpty(), "GC counts");
                assertTrue(
                        !query(promUrl, "jvm_memory_used_bytes{area=\"heap\"}").isEmpty(), "heap");
                if (mode == PmdConfig.Mode.PIPELINE) {
                    assertEquals(
                            2, query(promUrl, "panda_pipeline_ring_size == 256").size(), "classify and tx rings");
                    assertEquals(
                            2, query(promUrl, "panda_pipeline_ring_backlog").size());
                }
                assertEquals(1, query(promUrl, "up{job=\"panda\"} == 1").size(), "target up");

                // promtool accepts the live exposition; OpenMetrics when asked
                HttpResponse<String> text = get("http://127.0.0.1:" + target + "/metrics", null);
                assertEquals(List.of(), MetricsServerTest.promtool(text.body()), "promtool check metrics");
                assertTrue(
                        text.body().contains("panda_port_drops_total{bridge=\"br0\",port=\"a\",reason=\"vlan\"} 0.0"));
                HttpResponse<String> om =
                        get("http://127.0.0.1:" + target + "/metrics", "application/openmetrics-text; version=1.0.0");
                assertEquals(
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        om.headers().firstValue("Content-Type").orElseThrow());
                assertTrue(om.body().endsWith("# EOF\n"));

                // what a scrape allocates on the listener's threads (printed: it decides how often a
                // 1 s scrape interval brings a young collection)
                long before = metricsThreadsAllocated();
                int n = 20;
                for (int i = 0; i < n; i++) {
                    assertEquals(
                            200,
                            get("http://127.0.0.1:" + target + "/metrics", null).statusCode());
                }
                long perScrape = (metricsThreadsAllocated() - before) / n;
                System.out.printf(
                        "%s: a scrape allocates %d KiB on the metrics threads (%d bytes of text)%n",
                        mode, perScrape / 1024, text.body().length());
                assertTrue(perScrape > 0, "allocation not measured");
            } finally {
                traffic.close();
                if (prometheus != null) {
                    stop(prometheus);
                }
                if (metrics != null) {
                    metrics.close();
                }
                if (control != null) {
                    control.close();
                }
                vswitch.close();
                hostA.close();
                hostB.close();
            }
        }
    }

    /** Bytes allocated so far by panda-metrics-exec and panda-metrics-1 (HotSpot's per-thread counter). */
    private static long metricsThreadsAllocated() {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("panda-metrics")) {
                sum += mx.getThreadAllocatedBytes(t.threadId());
            }
        }
        return sum;
    }

    private static void between(String what, long lo, double v, long hi) {
        assertTrue(lo <= v && v <= hi, what + ": Prometheus " + (long) v + " not within port-stats " + lo + ".." + hi);
    }

    // --- Prometheus -----------------------------------------------------------------------

    private Process startPrometheus(int target, int api) throws Exception {
        Path yml = dir.resolve("prometheus.yml");
        Files.writeString(yml, """
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                scrape_configs:
                  - job_name: panda
                    static_configs:
                      - targets: ['127.0.0.1:%d']
                """.formatted(target));
        Path log = dir.resolve("prometheus.log");
        try {
            return new ProcessBuilder(
                            "prometheus",
                            "--config.file=" + yml,
                            "--storage.tsdb.path=" + dir.resolve("data"),
                            "--web.listen-address=127.0.0.1:" + api)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
        } catch (java.io.IOException e) {
            throw new AssertionError("cannot start prometheus (scripts/setup installs Debian's prometheus): " + e, e);
        }
    }

    private void awaitReady(Process p, String url) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new AssertionError(
                        "prometheus exited " + p.exitValue() + ":\n" + Files.readString(dir.resolve("prometheus.log")));
            }
            try {
                if (get(url + "/-/ready", null).statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError("prometheus not ready in 60 s:\n" + Files.readString(dir.resolve("prometheus.log")));
    }

    private static void stop(Process p) throws InterruptedException {
        p.destroy(); // SIGTERM to that PID
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    record Sample(double value, long millis) {}

    /** The newest raw sample of each series of {@code metric} (by its port, or bridge), from the last 10 s. */
    private Map<String, Sample> latest(String url, String metric) throws Exception {
        Map<String, Sample> out = new HashMap<>();
        for (JsonNode series : query(url, metric + "{job=\"panda\"}[10s]")) {
            JsonNode labels = series.get("metric");
            String key = labels.has("port")
                    ? labels.get("port").asText()
                    : labels.get("bridge").asText();
            JsonNode values = series.get("values");
            JsonNode last = values.get(values.size() - 1);
            out.put(
                    key,
                    new Sample(
                            Double.parseDouble(last.get(1).asText()),
                            Math.round(last.get(0).asDouble() * 1000)));
        }
        return out;
    }

    private List<JsonNode> query(String url, String promql) throws Exception {
        HttpResponse<String> r =
                get(url + "/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8), null);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode root = JSON.readTree(r.body());
        assertEquals("success", root.get("status").asText(), r.body());
        return List.copyOf(root.get("data").get("result").valueStream().toList());
    }

    private HttpResponse<String> get(String url, String accept) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        if (accept != null) {
            b.header("Accept", accept);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    // --- panda ctl ------------------------------------------------------------------------

    private static String ctl(Path sock, String verb) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertEquals(
                0,
                CtlMain.run(
                        new String[] {"--control", sock.toString(), verb},
                        new PrintStream(out, true, StandardCharsets.UTF_8),
                        System.err));
        return out.toString(StandardCharsets.UTF_8);
    }

    /** {@code panda ctl --json port-stats}: per port {rx packets, tx packets, rx bytes}. */
    private static Map<String, long[]> portStats(Path sock) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = CtlMain.run(
                new String[] {"--control", sock.toString(), "--json", "port-stats"},
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
        Map<String, long[]> m = new HashMap<>();
        for (JsonNode p : JSON.readTree(out.toByteArray()).get("ports")) {
            m.put(p.get("port").asText(), new long[] {
                p.get("rx-packets").asLong(),
                p.get("tx-packets").asLong(),
                p.get("rx-bytes").asLong()
            });
        }
        return m;
    }

    /** port-stats once two readings 300 ms apart agree (the last frames have left the switch). */
    private static Map<String, long[]> settle(Path sock) throws Exception {
        Map<String, long[]> prev = portStats(sock);
        for (int i = 0; i < 50; i++) {
            Thread.sleep(300);
            Map<String, long[]> now = portStats(sock);
            boolean same = now.keySet().stream().allMatch(k -> java.util.Arrays.equals(now.get(k), prev.get(k)));
            if (same) {
                return now;
            }
            prev.clear();
            prev.putAll(now);
        }
        throw new AssertionError("port-stats never settled");
    }

    // --- traffic --------------------------------------------------------------------------

    /** Hosts A and B send each other 8 frames every millisecond and drain what arrives. */
    static final class Traffic implements AutoCloseable {
        private final PacketPool pool;
        private final Port a;
        private final Port b;
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;
        private long sent;

        Traffic(PacketPool pool, Port a, Port b) {
            this.pool = pool;
            this.a = a;
            this.b = b;
            this.thread = Thread.ofPlatform().name("metrics-test-traffic").unstarted(this::run);
        }

        void start() {
            thread.start();
        }

        long sent() {
            return sent;
        }

        private void run() {
            PacketBurst burst = new PacketBurst(32);
            byte[] ab = frame(B, A);
            byte[] ba = frame(A, B);
            while (running.get()) {
                sent += send(a, ab, burst) + send(b, ba, burst);
                drain(a, burst);
                drain(b, burst);
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
            for (int i = 0; i < 50; i++) { // what is still on its way
                drain(a, burst);
                drain(b, burst);
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        private int send(Port p, byte[] f, PacketBurst burst) {
            int n = 0;
            for (; n < 8; n++) {
                int h = pool.alloc();
                if (h < 0) {
                    break;
                }
                MemorySegment.copy(f, 0, pool.segment(), ValueLayout.JAVA_BYTE, pool.dataOffset(h), f.length);
                pool.setLength(h, f.length);
                burst.handles[n] = h;
            }
            int k = p.txBurst(0, burst, n);
            for (int i = k; i < n; i++) {
                pool.free(burst.handles[i]);
            }
            return k;
        }

        private void drain(Port p, PacketBurst burst) {
            int n;
            while ((n = p.rxBurst(0, burst)) > 0) {
                for (int i = 0; i < n; i++) {
                    pool.free(burst.handles[i]);
                }
            }
        }

        private static byte[] frame(long dst, long src) {
            byte[] f = new byte[64];
            for (int i = 0; i < 6; i++) {
                f[i] = (byte) (dst >>> (40 - 8 * i));
                f[6 + i] = (byte) (src >>> (40 - 8 * i));
            }
            f[12] = 0x08;
            return f;
        }

        @Override
        public void close() throws InterruptedException {
            if (running.getAndSet(false) && thread.isAlive()) {
                thread.join(10_000);
            } else if (thread.isAlive()) {
                thread.join(10_000);
            }
        }
    }
}
