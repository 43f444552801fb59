package dev.panda.vswitch;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
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

    private final BlockingQueue<String> lines;

    /**
     * @param extra more arguments for {@code panda vswitch}
     */
    public VswitchProcess(Path stateDir, Path sock, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(VswitchChild.command(
                "--state-dir",
                stateDir.toString(),
                "--journal",
                "on",
                "--pmd-cores",
                VswitchChild.lastCpu(),
                "--idle",
                "park",
                "--control",
                sock.toString()));
        cmd.addAll(List.of(extra));
        Files.deleteIfExists(sock);
        p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        lines = VswitchChild.lines(p);
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
