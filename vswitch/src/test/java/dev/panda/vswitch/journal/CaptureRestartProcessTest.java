package dev.panda.vswitch.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.jextract.Posix;
import dev.panda.vswitch.VswitchChild;
import dev.panda.vswitch.capture.CaptureReader;
import dev.panda.vswitch.capture.CaptureRecord;
import dev.panda.vswitch.control.Json;
import dev.panda.vswitch.ctl.CtlClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A capture taking frames (a {@code net_null} port's rx, at the rate the poller reaches) when the
 * vswitch is SIGKILLed runs again after the restart, with its name and spec, and appends to the
 * same queue: the queue holds frames from before the kill and from after the restart.
 */
class CaptureRestartProcessTest {

    @TempDir
    Path dir;

    private Process start(Path sock, List<String> seen) throws Exception {
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
                "--pmd-cores",
                Integer.toString(cpus[cpus.length - 1]),
                "--idle",
                "park",
                "--control",
                sock.toString()));
        Files.deleteIfExists(sock);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
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
                p.destroyForcibly();
                fail("vswitch did not start in 60 s: " + seen);
            }
            seen.add(l);
            if (l.contains("control socket")) {
                return p;
            }
            if (!p.isAlive()) {
                lines.drainTo(seen);
                fail("vswitch exited " + p.waitFor() + ": " + seen);
            }
        }
    }

    private static JsonNode capture(CtlClient ctl) throws IOException {
        CtlClient.Answer a = ctl.call("GET", "/v1/captures", null, "application/json");
        assertEquals(200, a.status(), a.text());
        JsonNode list = Json.MAPPER.readTree(a.body()).get("captures");
        return list.isEmpty() ? null : list.get(0);
    }

    private static void waitCaptured(CtlClient ctl) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            JsonNode c = capture(ctl);
            if (c != null && c.get("captured").asLong() >= 100) {
                return;
            }
            if (System.nanoTime() > deadline) {
                fail("the capture took no frames in 30 s: " + c);
            }
            Thread.sleep(100);
        }
    }

    private static void kill(Process p) throws InterruptedException {
        p.destroyForcibly(); // SIGKILL to this PID
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "SIGKILL did not end pid " + p.pid());
    }

    @Test
    void aRunningCaptureRunsAgainAfterSigkillAndAppendsToItsQueue() throws Exception {
        Path sock = dir.resolve("v.ctl");
        CtlClient ctl = new CtlClient(sock, Duration.ofSeconds(20));
        List<String> seen = new ArrayList<>();
        Process p = start(sock, seen);
        long killedAt;
        try {
            CtlClient.Answer a = ctl.call(
                    "POST",
                    "/v1/bridges",
                    "{\"name\": \"br0\", \"ports\": [{\"name\": \"p1\", \"device\": \"net_null0\"}]}"
                            .getBytes(StandardCharsets.UTF_8),
                    null);
            assertEquals(2, a.status() / 100, a.text());
            a = ctl.call(
                    "POST",
                    "/v1/captures",
                    "{\"name\": \"c1\", \"port\": \"p1\", \"dir\": \"rx\", \"snaplen\": 60, \"roll\": \"day\"}"
                            .getBytes(StandardCharsets.UTF_8),
                    null);
            assertEquals(201, a.status(), a.text());
            waitCaptured(ctl);
            killedAt = System.currentTimeMillis() * 1_000_000L;
            kill(p);
        } finally {
            if (p.isAlive()) {
                kill(p);
            }
        }
        seen.clear();
        p = start(sock, seen);
        long restartedAt = System.currentTimeMillis() * 1_000_000L;
        try {
            assertTrue(seen.stream().anyMatch(l -> l.contains("1 capture(s)")), seen.toString());
            JsonNode c = capture(ctl);
            assertTrue(c != null, "no capture after the restart: " + seen);
            assertEquals("c1", c.get("name").asText());
            assertEquals("p1", c.get("port").asText());
            assertEquals("rx", c.get("dir").asText());
            assertEquals(60, c.get("snaplen").asInt());
            assertEquals("day", c.get("roll").asText());
            assertEquals("running", c.get("state").asText());
            waitCaptured(ctl);
            CtlClient.Answer a = ctl.call("DELETE", "/v1/captures/c1", null, null);
            assertEquals(200, a.status(), a.text());
        } finally {
            kill(p);
        }
        long before = 0;
        long after = 0;
        try (CaptureReader r = CaptureReader.open(dir.resolve("state/captures/c1"), false)) {
            CaptureRecord rec = new CaptureRecord();
            while (r.next(rec)) {
                if (rec.timestampNanos <= killedAt) {
                    before++;
                } else if (rec.timestampNanos >= restartedAt) {
                    after++;
                }
            }
        }
        assertTrue(
                before >= 100 && after >= 100,
                before + " frames from before the kill, " + after + " after the restart");
        System.out.println("CaptureRestartProcessTest: " + before + " frames before the kill, " + after
                + " after the restart, in one queue");
    }
}
