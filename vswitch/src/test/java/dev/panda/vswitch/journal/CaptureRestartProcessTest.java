package dev.panda.vswitch.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.vswitch.VswitchProcess;
import dev.panda.vswitch.capture.CaptureReader;
import dev.panda.vswitch.capture.CaptureRecord;
import dev.panda.vswitch.control.Json;
import dev.panda.vswitch.ctl.CtlClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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

    @Test
    void aRunningCaptureRunsAgainAfterSigkillAndAppendsToItsQueue() throws Exception {
        Path sock = dir.resolve("v.ctl");
        CtlClient ctl = new CtlClient(sock, Duration.ofSeconds(20));
        Path state = dir.resolve("state");
        long killedAt;
        try (VswitchProcess p = new VswitchProcess(state, sock)) {
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
            p.kill();
        }
        long restartedAt;
        try (VswitchProcess p = new VswitchProcess(state, sock)) {
            restartedAt = System.currentTimeMillis() * 1_000_000L;
            List<String> seen = p.seen;
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
