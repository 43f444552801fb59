package dev.panda.dataplane.testpmd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code --record-core-cycles} against the real dpdk-testpmd 22.11: both run with the same command
 * line on two null ports ({@code start}, 1 s, {@code show fwd stats all}, {@code stop}, {@code
 * quit}), and each one's cycles lines must match one pattern, name the mode, count the packets the
 * accumulated block above it shows (transmitted for txonly, received otherwise), divide the total
 * cycles by them, and name the same clock to within 5%.
 */
@Tag("peer")
class RecordCoreCyclesPeerTest {

    private static final Path TESTPMD = Path.of("/usr/bin/dpdk-testpmd");
    /** The accumulated block's RX and TX lines, its border, a blank line, then the cycles line. */
    private static final Pattern BLOCK = Pattern.compile("Accumulated forward statistics for all ports\\+++\n"
            + "  RX-packets: (\\d+) +RX-dropped: \\d+ +RX-total: \\d+\n"
            + "  TX-packets: (\\d+) +TX-dropped: \\d+ +TX-total: \\d+\n"
            + "  \\++\n"
            + "\n"
            + "  CPU cycles/packet=([0-9]+\\.[0-9]{2}) \\(total cycles=(\\d+) / total ([a-z]+) packets=(\\d+)\\)"
            + " at (\\d+) MHz Clock\n");

    private record Line(long rx, long tx, String perPacket, long cycles, String mode, long packets, long mhz) {}

    @ParameterizedTest
    @ValueSource(strings = {"rxonly", "io", "txonly"})
    void cyclesLineMatchesDpdkTestpmds(String mode) throws Exception {
        String prefix = "panda-cycles-" + ProcessHandle.current().pid();
        List<String> args = List.of(
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
                "-i",
                "--forward-mode=" + mode,
                "--record-core-cycles");
        String dpdk = runDpdk(args, prefix);
        String panda = runPanda(args);
        List<Line> d = lines(dpdk, "dpdk-testpmd");
        List<Line> p = lines(panda, "panda testpmd");
        System.out.printf("%s: dpdk-testpmd %s%n%s: panda testpmd %s%n", mode, d, mode, p);
        assertEquals(2, d.size(), "dpdk-testpmd: one line for show fwd stats all, one at stop");
        assertEquals(2, p.size(), "panda: one line for show fwd stats all, one at stop");
        for (Line l : List.of(d.get(0), d.get(1), p.get(0), p.get(1))) {
            assertEquals(mode, l.mode());
            assertEquals(mode.equals("txonly") ? l.tx() : l.rx(), l.packets(), "packets counted: " + l);
            assertTrue(l.packets() > 0 && l.cycles() > 0, "nothing measured: " + l);
            assertEquals(String.format(Locale.ROOT, "%.2f", (double) l.cycles() / l.packets()), l.perPacket(), "" + l);
        }
        long dm = d.getFirst().mhz();
        long pm = p.getFirst().mhz();
        assertTrue(Math.abs(pm - dm) <= dm * 0.05, "clock: dpdk-testpmd " + dm + " MHz, panda " + pm + " MHz");
    }

    private static List<Line> lines(String out, String who) {
        List<Line> l = new ArrayList<>();
        Matcher m = BLOCK.matcher(out);
        while (m.find()) {
            l.add(new Line(
                    Long.parseLong(m.group(1)),
                    Long.parseLong(m.group(2)),
                    m.group(3),
                    Long.parseLong(m.group(4)),
                    m.group(5),
                    Long.parseLong(m.group(6)),
                    Long.parseLong(m.group(7))));
        }
        if (l.isEmpty()) {
            fail("no cycles line after the accumulated statistics in " + who + "'s output:\n" + out);
        }
        return l;
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

    private static String runDpdk(List<String> args, String prefix) throws Exception {
        if (!Files.isExecutable(TESTPMD)) {
            fail(TESTPMD + " not found: run scripts/setup (installs Debian's dpdk-dev and hugepages)");
        }
        List<String> cmd = new ArrayList<>(List.of(TESTPMD.toString()));
        cmd.addAll(args);
        Path log = Files.createTempFile("panda-cycles-dpdk", ".log");
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
            removeDpdkFiles(prefix);
        }
    }

    private static String runPanda(List<String> args) throws Exception {
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

    /** Our --file-prefix's hugepage files and run directory, never anyone else's. */
    private static void removeDpdkFiles(String prefix) throws IOException {
        Path huge = Path.of("/dev/hugepages");
        if (Files.isDirectory(huge)) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(huge, prefix + "map_*")) {
                for (Path f : files) {
                    Files.deleteIfExists(f);
                }
            }
        }
        Path run = Path.of("/var/run/dpdk", prefix);
        if (Files.isDirectory(run)) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(run)) {
                for (Path f : files) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(run);
        }
    }
}
