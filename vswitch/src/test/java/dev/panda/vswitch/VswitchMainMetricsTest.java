package dev.panda.vswitch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.config.MetricsConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code panda vswitch --metrics ADDR:PORT} and the config file's {@code metrics.listen}. */
class VswitchMainMetricsTest {

    /** An in-process vswitch moves this JVM's threads off its pmd cores: give them every CPU back. */
    @org.junit.jupiter.api.AfterEach
    void everyCpuAgain() {
        AllCpus.restore();
    }

    @TempDir
    Path dir;

    @Test
    void badValuesAreRefusedWithOneLine() throws Exception {
        VswitchMainTest.Run r = VswitchMainTest.run("--metrics", "localhost:9464");
        assertEquals(2, r.status());
        assertEquals(
                "panda vswitch: --metrics: 'localhost:9464' is not ADDR:PORT (an IP address and a port, e.g."
                        + " 127.0.0.1:9464 or [::1]:9464)\n",
                r.err());
        assertEquals(2, VswitchMainTest.run("--metrics=127.0.0.1:99999").status());
        assertEquals(2, VswitchMainTest.run("--metrics").status());
        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, "metrics:\n  listen: 9464\n");
        r = VswitchMainTest.run("--config", bad.toString());
        assertEquals(2, r.status());
        assertEquals(
                "panda vswitch: " + bad + ":2: metrics.listen: '9464' is not ADDR:PORT (an IP address and a port,"
                        + " e.g. 127.0.0.1:9464 or [::1]:9464)\n",
                r.err());
        assertTrue(VswitchMain.USAGE.contains("--metrics"));
    }

    @Test
    void optionOverridesTheFile() {
        VswitchConfig file = VswitchConfig.empty().withMetrics(new MetricsConfig("127.0.0.1:9464"));
        assertEquals(
                file.metrics(),
                VswitchMain.apply(VswitchMain.parse(new String[0]), file).metrics());
        assertEquals(
                MetricsConfig.off(),
                VswitchMain.apply(VswitchMain.parse(new String[] {"--metrics", "off"}), file)
                        .metrics());
        assertEquals(
                new MetricsConfig("[::1]:0"),
                VswitchMain.apply(VswitchMain.parse(new String[] {"--metrics=[::1]:0"}), file)
                        .metrics());
        assertThrows(IllegalArgumentException.class, () -> new MetricsConfig("nope"));
    }

    @Test
    void servesMetricsUntilStoppedAndRefusesABusyPort() throws Exception {
        Path file = dir.resolve("vswitch.yaml");
        Files.writeString(file, "metrics: {listen: '127.0.0.1:0'}\nbridges:\n  - name: br0\n");
        Path sock = dir.resolve("vswitch.ctl");
        AtomicReference<VswitchConfig> started = new AtomicReference<>();
        VswitchMainTest.ClosingFake fake = new VswitchMainTest.ClosingFake();
        CountDownLatch stop = new CountDownLatch(1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CompletableFuture<Integer> rc = CompletableFuture.supplyAsync(() -> VswitchMain.run(
                new String[] {"--config", file.toString(), "--control", sock.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8),
                System.err,
                c -> {
                    started.set(c);
                    c.bridges().forEach(fake::addBridge);
                    return fake;
                },
                stop));
        Pattern line = Pattern.compile("panda vswitch: metrics http://127\\.0\\.0\\.1:(\\d+)/metrics\n");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        Matcher m;
        while (!(m = line.matcher(out.toString(StandardCharsets.UTF_8))).find()) {
            assertTrue(System.nanoTime() < deadline, "no metrics line: " + out);
            Thread.sleep(20);
        }
        int port = Integer.parseInt(m.group(1));
        assertEquals(new MetricsConfig("127.0.0.1:0"), started.get().metrics());
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertTrue(r.body().contains("panda_fdb_entries{bridge=\"br0\"}"), r.body());

        // a second vswitch asked for the same port: one line, exit 2, its switch closed
        VswitchMainTest.ClosingFake other = new VswitchMainTest.ClosingFake();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int busy = VswitchMain.run(
                new String[] {"--control", dir.resolve("other.ctl").toString(), "--metrics", "127.0.0.1:" + port},
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                c -> other,
                new CountDownLatch(0));
        assertEquals(2, busy);
        assertEquals(
                "panda vswitch: metrics 127.0.0.1:" + port + ": cannot listen: address already in use\n",
                err.toString(StandardCharsets.UTF_8));
        assertTrue(other.closed);

        stop.countDown();
        assertEquals(0, rc.get(10, TimeUnit.SECONDS));
        assertTrue(fake.closed);
        // the port is free again
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
            assertFalse(s.isClosed());
        }
    }
}
