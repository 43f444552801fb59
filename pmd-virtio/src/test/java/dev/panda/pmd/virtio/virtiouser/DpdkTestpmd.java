package dev.panda.pmd.virtio.virtiouser;

import static org.junit.jupiter.api.Assertions.fail;

import dev.panda.dataplane.testing.DpdkFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One interactive dpdk-testpmd with a {@code net_vhost0} back-end on a socket, started and
 * stopped by a test: commands go through its stdin, its output into a log file; close() ends it
 * and removes its hugepage files and runtime directory (its own --file-prefix only).
 */
public final class DpdkTestpmd implements AutoCloseable {

    public static final Path TESTPMD = Path.of("/usr/bin/dpdk-testpmd");

    public final String prefix;
    public final Path log;
    private final Process process;
    private final OutputStream cmd;

    public DpdkTestpmd(String prefix, Path sock, Path log, String... appArgs) throws IOException {
        this(prefix, List.of("-l", "0,1"), "net_vhost0,iface=" + sock, log, appArgs);
    }

    /**
     * Any one vdev (DPDK's virtio-user front-end, say) with the given lcore options ({@code -l ...}
     * or {@code --lcores ...}).
     */
    /** A testpmd on lcores 0,1 with the EAL device {@code vdev} (any vhost-user or virtio-user vdev string). */
    static DpdkTestpmd withVdev(String prefix, String vdev, Path log, String... appArgs) throws IOException {
        return new DpdkTestpmd(prefix, List.of("-l", "0,1"), vdev, log, appArgs);
    }

    public DpdkTestpmd(String prefix, List<String> lcores, String vdev, Path log, String... appArgs)
            throws IOException {
        if (!Files.isExecutable(TESTPMD)) {
            fail(TESTPMD + " not found: run scripts/setup (installs Debian's dpdk-dev and hugepages)");
        }
        this.prefix = prefix;
        this.log = log;
        DpdkFiles.remove(prefix);
        List<String> argv = new ArrayList<>(List.of(TESTPMD.toString()));
        argv.addAll(lcores);
        argv.addAll(List.of(
                "-m",
                "512",
                "--no-pci",
                "--single-file-segments",
                "--file-prefix",
                prefix,
                "--vdev",
                vdev,
                "--",
                "-i"));
        argv.addAll(List.of(appArgs));
        this.process = new ProcessBuilder(argv)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        this.cmd = process.getOutputStream();
    }

    /** Waits until the back-end listens on {@code sock} (the socket file exists). */
    public void awaitSocket(Path sock) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(sock)) {
            if (!process.isAlive()) {
                fail("dpdk-testpmd exited with " + process.exitValue() + " before listening\n" + tail());
            }
            if (System.nanoTime() > deadline) {
                fail("dpdk-testpmd never created " + sock + "\n" + tail());
            }
            sleep(50);
        }
    }

    public void command(String line) throws IOException {
        cmd.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
        cmd.flush();
    }

    /**
     * Sends {@code show port stats all} and {@code quit} (testpmd's stdout into a file is block
     * buffered: its output is complete only once it exited), then returns the first match of
     * {@code p} after the NIC statistics header.
     */
    public Matcher statsAtQuit(Pattern p) throws IOException {
        long from = Files.size(log);
        command("show port stats all");
        command("quit");
        if (!waitFor(15)) {
            fail("dpdk-testpmd did not quit\n" + tail());
        }
        String out = Files.readString(log);
        int at = out.indexOf("NIC statistics for port 0", (int) Math.min(from, out.length()));
        if (at < 0) {
            at = out.indexOf("NIC statistics for port 0");
        }
        Matcher m = at < 0 ? null : p.matcher(out.substring(at));
        if (m == null || !m.find()) {
            fail("no NIC statistics from dpdk-testpmd\n" + tail());
        }
        return m;
    }

    public String tail() throws IOException {
        if (!Files.exists(log)) {
            return "(no dpdk-testpmd output)";
        }
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    public boolean alive() {
        return process.isAlive();
    }

    /**
     * SIGKILL, as a crash: no goodbye on the vhost-user socket, nothing cleaned up by testpmd.
     * Waits for the process to be gone, closes our end of its stdin and removes its files.
     */
    void kill() throws IOException {
        process.destroyForcibly(); // SIGKILL on Linux
        if (!waitFor(15)) {
            fail("dpdk-testpmd survived SIGKILL\n" + tail());
        }
        try {
            cmd.close();
        } catch (IOException ignored) {
            // the reader is gone: the pipe may already be broken
        }
        DpdkFiles.remove(prefix);
    }

    /** quit, then SIGTERM, then SIGKILL; removes the hugepage files of our prefix. */
    @Override
    public void close() throws IOException {
        try {
            if (process.isAlive()) {
                try {
                    command("quit");
                } catch (IOException ignored) {
                    // already gone
                }
                if (!waitFor(10)) {
                    process.destroy();
                    if (!waitFor(5)) {
                        process.destroyForcibly();
                        waitFor(5);
                    }
                }
            }
        } finally {
            try {
                cmd.close();
            } catch (IOException ignored) {
                // the reader is gone
            }
            DpdkFiles.remove(prefix);
        }
    }

    private boolean waitFor(long seconds) {
        try {
            return process.waitFor(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
