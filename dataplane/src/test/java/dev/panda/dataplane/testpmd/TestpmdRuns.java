package dev.panda.dataplane.testpmd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panda.dataplane.testing.DpdkFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One interactive session of the real dpdk-testpmd and one of panda's, fed the same commands
 * ({@code start}, 1 s, {@code show fwd stats all}, {@code stop}, {@code quit}), for the tests that
 * hold panda's report to dpdk-testpmd's.
 */
final class TestpmdRuns {

    static final Path TESTPMD = Path.of("/usr/bin/dpdk-testpmd");

    private TestpmdRuns() {}

    /**
     * The command line both tools get: two null ports on CPUs 0 and 1, interactive, {@code app}
     * (the forwarding mode and the options under test) after it.
     */
    static List<String> nullPorts(String prefix, String... app) {
        List<String> args = new ArrayList<>(List.of(
                "-l",
                "0,1",
                "-m",
                "256",
                "--no-pci",
                "--single-file-segments",
                "--file-prefix",
                prefix,
                "--vdev",
                "net_null0",
                "--vdev",
                "net_null1",
                "--",
                "-i"));
        args.addAll(List.of(app));
        return args;
    }

    /** The commands, with a second of forwarding before the show. */
    private static void feed(OutputStream in) throws IOException, InterruptedException {
        in.write("start\n".getBytes(StandardCharsets.US_ASCII));
        in.flush();
        Thread.sleep(1000);
        in.write("show fwd stats all\n".getBytes(StandardCharsets.US_ASCII));
        in.flush();
        Thread.sleep(300);
        in.write("stop\nquit\n".getBytes(StandardCharsets.US_ASCII));
        in.flush();
    }

    /** dpdk-testpmd's output for {@code args}, which carry {@code --file-prefix prefix}; its files are removed after. */
    static String dpdk(List<String> args, String prefix) throws Exception {
        if (!Files.isExecutable(TESTPMD)) {
            fail(TESTPMD + " not found: run scripts/setup (installs Debian's dpdk-dev and hugepages)");
        }
        // line-buffered, so its interactive echo (written straight to the fd) cannot land mid-line
        List<String> cmd = new ArrayList<>(List.of("stdbuf", "-oL", TESTPMD.toString()));
        cmd.addAll(args);
        Path log = Files.createTempFile("panda-testpmd-dpdk", ".log");
        Process proc = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        try {
            try (OutputStream in = proc.getOutputStream()) {
                Thread.sleep(3000); // EAL start-up; commands typed earlier are read at the prompt anyway
                feed(in);
            }
            if (!proc.waitFor(30, TimeUnit.SECONDS)) {
                fail("dpdk-testpmd did not quit:\n" + Files.readString(log));
            }
            return Files.readString(log);
        } finally {
            if (proc.isAlive()) {
                proc.destroyForcibly();
                proc.waitFor(10, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(log);
            DpdkFiles.remove(prefix);
        }
    }

    /** panda testpmd's output for {@code args}, run in this JVM; it must exit 0. */
    static String panda(List<String> args) throws Exception {
        PipedOutputStream commands = new PipedOutputStream();
        PipedInputStream in = new PipedInputStream(commands);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        int[] code = {-1};
        Thread t = Thread.ofPlatform()
                .start(() -> code[0] = TestpmdMain.run(args.toArray(String[]::new), in, out, out, false));
        try (commands) {
            feed(commands);
        }
        t.join(30_000);
        assertEquals(0, code[0], "panda testpmd:\n" + bytes.toString(StandardCharsets.UTF_8));
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
