package dev.panda.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A machine without libbpf, simulated by pointing {@code -Dpanda.libbpf.path} at a library that
 * does not exist: {@code panda xdp} and {@code net_af_xdp} say in one line what is missing and how
 * to install it, with no stack trace, and exit with their usual failure status.
 */
class LibbpfMissingTest {

    private static final String CAUSE = "libbpf is not installed (cannot load libbpf-missing.so.0, set by "
            + "-Dpanda.libbpf.path): apt-get install libbpf1, or run scripts/setup as root";

    @TempDir
    Path tmp;

    @Test
    void xdpStatusSaysWhatIsMissing() throws Exception {
        Run r = panda("xdp", "status");
        assertEquals(1, r.status, r.toString());
        assertEquals(List.of("panda xdp: " + CAUSE), r.errLines(), r.toString());
        assertEquals("", r.out, r.toString());
    }

    @Test
    void afXdpPortSaysWhatIsMissing() throws Exception {
        Run r = panda(
                "testpmd", "--no-huge", "--total-num-mbufs=1024", "--vdev", "net_af_xdp0,iface=lo", "--run-time=1");
        assertEquals(2, r.status, r.toString());
        assertEquals(List.of("panda testpmd: invalid --vdev: net_af_xdp0: " + CAUSE), r.errLines(), r.toString());
        assertFalse(r.out.contains("Exception") || r.out.contains("\tat "), r.toString());
    }

    @Test
    void xdpHelpNeedsNoLibbpf() throws Exception {
        Run r = panda("xdp", "help");
        assertEquals(0, r.status, r.toString());
        assertTrue(r.out.startsWith("usage: panda xdp load"), r.toString());
    }

    private record Run(int status, String out, String err) {
        List<String> errLines() {
            return err.lines().filter(l -> !l.isBlank()).toList();
        }
    }

    private Run panda(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-Dpanda.libbpf.path=libbpf-missing.so.0",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName()));
        cmd.addAll(List.of(args));
        Path out = tmp.resolve("out");
        Path err = tmp.resolve("err");
        Process p = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError("panda " + String.join(" ", args) + " did not exit within 60 s");
        }
        return new Run(
                p.exitValue(),
                Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }
}
