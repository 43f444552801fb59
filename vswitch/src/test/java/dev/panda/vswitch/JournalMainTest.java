package dev.panda.vswitch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.ctl.CtlClient;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code panda vswitch --state-dir} in-process on a fake {@link Control}: a change through the API is
 * in the journal at the next start; a non-empty journal wins over {@code --config} with one line
 * saying the file is ignored; {@code --fresh} moves the journal aside (one line, where) and starts
 * from the file; the {@code state-dir} key of the file is used when no {@code --state-dir} is given.
 */
class JournalMainTest {

    /** The in-process vswitch moved this JVM's threads off its pmd cores: give them every CPU back. */
    @org.junit.jupiter.api.AfterEach
    void everyCpuAgain() {
        dev.panda.vswitch.AllCpus.restore();
    }

    @TempDir
    Path dir;

    record Started(VswitchConfig config, String out, String err) {}

    private Started start(List<String> args, String... apiBridges) throws Exception {
        Path sock = dir.resolve("v.ctl");
        AtomicReference<VswitchConfig> started = new AtomicReference<>();
        CountDownLatch stop = new CountDownLatch(1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<String> all = new java.util.ArrayList<>(args);
        all.addAll(List.of("--control", sock.toString(), "--journal", "on"));
        CompletableFuture<Integer> rc = CompletableFuture.supplyAsync(() -> VswitchMain.run(
                all.toArray(String[]::new),
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                c -> {
                    started.set(c);
                    FakeControl fake = new FakeControl();
                    c.bridges().forEach(fake::addBridge);
                    return fake;
                },
                stop));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!out.toString(StandardCharsets.UTF_8).contains("control socket")) {
            assertTrue(System.nanoTime() < deadline && !rc.isDone(), out + " / " + err);
            Thread.sleep(20);
        }
        CtlClient ctl = new CtlClient(sock, Duration.ofSeconds(10));
        for (String b : apiBridges) {
            assertEquals(
                    201,
                    ctl.call(
                                    "POST",
                                    "/v1/bridges",
                                    ("{\"name\": \"" + b + "\"}").getBytes(StandardCharsets.UTF_8),
                                    null)
                            .status());
        }
        stop.countDown();
        assertEquals(0, rc.get(30, TimeUnit.SECONDS), err.toString(StandardCharsets.UTF_8));
        return new Started(started.get(), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static List<String> names(VswitchConfig c) {
        return c.bridges().stream().map(BridgeConfig::name).toList();
    }

    @Test
    void theJournalWinsOverTheFileAndFreshMovesItAside() throws Exception {
        Path state = dir.resolve("state");
        Path file = dir.resolve("vswitch.yaml");
        Files.writeString(file, "bridges:\n  - name: brfile\n");
        List<String> args = List.of("--state-dir", state.toString(), "--config", file.toString());

        Started first = start(args, "brapi");
        assertEquals(List.of("brfile"), names(first.config()));
        assertTrue(
                first.out()
                        .startsWith("panda vswitch: journal " + state.resolve("journal") + " is empty; starting from "
                                + file + "\n"),
                first.out());

        Started second = start(args);
        assertEquals(List.of("brfile", "brapi"), names(second.config()), "the journal's state");
        assertTrue(
                second.out()
                        .startsWith("panda vswitch: the journal in " + state.resolve("journal")
                                + " wins: 2 bridge(s), 0 port(s) from its snapshot and 1 change(s) after it (through entry #2); --config "
                                + file + " is ignored (--fresh starts from the file instead)\n"),
                second.out());

        List<String> fresh = new java.util.ArrayList<>(args);
        fresh.add("--fresh");
        Started third = start(fresh);
        assertEquals(List.of("brfile"), names(third.config()), "the file's state");
        String line = third.out().lines().findFirst().orElseThrow();
        assertTrue(
                line.startsWith("panda vswitch: --fresh: the old journal moved to " + state.resolve("journal.old-")),
                line);
        assertTrue(line.endsWith("; starting from " + file), line);
        Path moved = Path.of(line.substring(line.indexOf(" to ") + 4, line.indexOf(";")));
        assertTrue(Files.isDirectory(moved), moved.toString());

        // the file's state-dir key, when no --state-dir is given
        Path other = dir.resolve("other");
        Files.writeString(file, "state-dir: " + other + "\nbridges:\n  - name: brfile\n");
        start(List.of("--config", file.toString()), "brkey");
        Started keyed = start(List.of("--config", file.toString()));
        assertEquals(List.of("brfile", "brkey"), names(keyed.config()));
        assertTrue(Files.isDirectory(other.resolve("journal")));
    }
}
