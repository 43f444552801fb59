package dev.panda.vswitch.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.vswitch.VswitchProcess;
import dev.panda.vswitch.control.Json;
import dev.panda.vswitch.ctl.CtlClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The VMs stay up while the vswitch crashes: two QEMU guests (Debian's kernel, its virtio_net
 * driver) are vhost-user servers ({@code server=on}), and a {@code panda vswitch --journal on}
 * process has br0 with a {@code net_vhost,client=1} port on each, added through the control API.
 * The guests ping each other through br0; the vswitch is SIGKILLed and started again on the same
 * state directory with no config: it rebuilds br0 and its ports from the journal, the client ports
 * connect to the guests' sockets again, QEMU hands the rings over again, and the guests ping each
 * other (56 and 1400 bytes) with the port counters of the new process moving.
 */
@Tag("peer")
class VswitchRestartGuestTest {

    private static final Path LOGS = Path.of("target", "guest-logs");
    private static final String IP1 = "198.19.66.1";
    private static final String IP2 = "198.19.66.2";

    @Test
    void vhostClientPortsReconnectToTheirVmsAfterTheVswitchIsKilledAndRestartedFromItsJournal() throws Exception {
        Path initramfs = Guest.initramfs(); // fails with the reason if QEMU, the kernel or busybox is missing
        Files.createDirectories(LOGS);
        Path dir = Files.createTempDirectory("pvrg"); // short: unix socket paths
        Path state = dir.resolve("state");
        Path ctlSock = dir.resolve("v.ctl");
        Path s1 = dir.resolve("vm1.sock");
        Path s2 = dir.resolve("vm2.sock");
        CtlClient ctl = new CtlClient(ctlSock, Duration.ofSeconds(30));
        try (Guest g1 = Guest.start(
                        "guest1",
                        initramfs,
                        IP1 + "/24",
                        LOGS.resolve("restart-guest1.log"),
                        List.of(new Guest.Nic("path=" + s1 + ",server=on,wait=off", "52:54:00:19:66:01")));
                Guest g2 = Guest.start(
                        "guest2",
                        initramfs,
                        IP2 + "/24",
                        LOGS.resolve("restart-guest2.log"),
                        List.of(new Guest.Nic("path=" + s2 + ",server=on,wait=off", "52:54:00:19:66:02")))) {
            awaitSocket(s1);
            awaitSocket(s2);
            try (VswitchProcess v = new VswitchProcess(state, ctlSock)) {
                CtlClient.Answer a = ctl.call(
                        "POST",
                        "/v1/bridges",
                        ("{\"name\": \"br0\", \"ports\": ["
                                        + "{\"name\": \"vm1\", \"device\": \"net_vhost0,iface=" + s1 + ",client=1\"},"
                                        + "{\"name\": \"vm2\", \"device\": \"net_vhost1,iface=" + s2 + ",client=1\"}]}")
                                .getBytes(StandardCharsets.UTF_8),
                        null);
                assertEquals(2, a.status() / 100, a.text());
                g1.awaitReady();
                g2.awaitReady();
                GuestsOnBridgeTest.ping(g1, IP2, 56);
                GuestsOnBridgeTest.ping(g2, IP1, 56);
                v.kill();
            }
            try (VswitchProcess v = new VswitchProcess(state, ctlSock)) {
                assertTrue(
                        v.seen.stream().anyMatch(l -> l.contains("state from the journal")),
                        "the restarted vswitch says where its state came from: " + v.seen);
                awaitLinks(ctl);
                GuestsOnBridgeTest.ping(g1, IP2, 56);
                GuestsOnBridgeTest.ping(g2, IP1, 1400);
                JsonNode stats = Json.MAPPER.readTree(ctl.call("GET", "/v1/ports/stats", null, "application/json")
                        .body());
                for (JsonNode p : stats.get("ports")) {
                    assertTrue(
                            p.get("rx-packets").asLong() >= 3
                                    && p.get("tx-packets").asLong() >= 3,
                            "the new process forwards for " + p.get("port") + ": " + stats);
                }
            }
        } finally {
            try (var s = Files.walk(dir)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** QEMU creates its server socket as it starts. */
    private static void awaitSocket(Path s) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(s)) {
            assertTrue(System.nanoTime() < deadline, "QEMU made no socket " + s + " in 60 s");
            Thread.sleep(50);
        }
    }

    /** Both ports' links up again (the client ports reconnected and QEMU set the rings up). */
    private static void awaitLinks(CtlClient ctl) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            JsonNode show = Json.MAPPER.readTree(
                    ctl.call("GET", "/v1/show", null, "application/json").body());
            long up = 0;
            for (JsonNode b : show.get("bridges")) {
                for (JsonNode p : b.get("ports")) {
                    if (p.get("link").asText().startsWith("up")) {
                        up++;
                    }
                }
            }
            if (up == 2) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "the ports did not come up again in 60 s: " + show);
            Thread.sleep(100);
        }
    }
}
