package dev.panda.vswitch;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panda.jextract.Posix;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A {@code panda vswitch --journal on} child process ({@link VswitchChild}) on a state directory,
 * one pmd on this JVM's highest CPU, idle {@code park}, for the tests that kill and restart one:
 * the constructor returns once the control socket is up, with every line printed so far in
 * {@link #seen}; {@link #kill} sends SIGKILL to this PID only.
 */
public final class VswitchProcess implements AutoCloseable {

    public final Process p;
    /** Lines printed until the control socket was up. */
    public final List<String> seen = new ArrayList<>();

    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    /**
     * @param extra more arguments for {@code panda vswitch}
     */
    public VswitchProcess(Path stateDir, Path sock, String... extra) throws Exception {
        int[] cpus = Posix.getAffinity();
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(VswitchChild.jvmFlags());
        cmd.addAll(List.of(
                "-cp",
                System.getProperty("java.class.path"),
                VswitchChild.class.getName(),
                "--state-dir",
                stateDir.toString(),
                "--journal",
                "on",
                "--pmd-cores",
                Integer.toString(cpus[cpus.length - 1]),
                "--idle",
                "park",
                "--control",
                sock.toString()));
        cmd.addAll(List.of(extra));
        Files.deleteIfExists(sock);
        p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
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
                return;
            }
            if (!p.isAlive()) {
                lines.drainTo(seen);
                fail("vswitch exited " + p.waitFor() + ": " + seen);
            }
        }
    }

    public void kill() throws InterruptedException {
        p.destroyForcibly(); // SIGKILL to this PID
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "SIGKILL did not end pid " + p.pid());
    }

    @Override
    public void close() throws InterruptedException {
        if (p.isAlive()) {
            kill();
        }
    }
}
