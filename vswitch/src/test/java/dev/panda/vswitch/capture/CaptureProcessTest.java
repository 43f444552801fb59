package dev.panda.vswitch.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panda.jextract.Posix;
import dev.panda.vswitch.VswitchChild;
import dev.panda.vswitch.ctl.CtlMain;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A capture at the highest rate a real {@code panda vswitch} process moves frames: a null port
 * (a packet source as fast as the poller takes it) flooded to a sink on br0, its received frames
 * captured with snaplen 64 for about a second; the writer cannot keep up, so frames are dropped from
 * the capture and counted. {@code capture stop} reports captured + dropped = matched; the process is
 * stopped with SIGTERM (exit 0), and {@code panda capture export} run afterwards, from the queue
 * directory alone, writes exactly the captured frames. The child JVM gets Chronicle Queue's JDK 25
 * flags the way the launcher does (this JVM's, from the pom).
 */
class CaptureProcessTest {

    @TempDir
    Path dir;

    @Test
    void highRateCaptureCountsItsDropsAndExportsAfterExit() throws Exception {
        int[] cpus = Posix.getAffinity();
        int pmd = cpus[cpus.length - 1];
        Path sock = dir.resolve("v.ctl");
        Path state = dir.resolve("state");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-") || a.startsWith("--sun-misc") || a.startsWith("-Dchronicle")) {
                cmd.add(a);
            }
        }
        cmd.addAll(List.of(
                "-cp",
                System.getProperty("java.class.path"),
                VswitchChild.class.getName(),
                "--pmd-cores",
                Integer.toString(pmd),
                "--control",
                sock.toString(),
                "--state-dir",
                state.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String first = r.readLine();
            assertTrue(first != null && first.contains("control socket"), "vswitch did not start: " + first);
            String c = sock.toString();
            ctl(c, "add-br", "br0");
            ctl(c, "add-port", "br0", "src", "net_null0,size=64");
            ctl(c, "add-port", "br0", "sink", "net_null1,no-rx=1");
            ctl(c, "capture", "start", "hot", "port=src", "dir=rx", "snaplen=64");
            Thread.sleep(1000);
            JsonNode end = new ObjectMapper().readTree(ctl(c, "--json", "capture", "stop", "hot"));
            long matched = end.get("matched").asLong();
            long captured = end.get("captured").asLong();
            long dropped = end.get("dropped").asLong();
            System.out.printf(
                    "high-rate capture in a vswitch process: matched %d, captured %d, dropped %d (%.1f%%)%n",
                    matched, captured, dropped, 100.0 * dropped / Math.max(1, matched));
            assertEquals(matched, captured + dropped, end.toString());
            assertTrue(matched > 100_000, "the source moved too little to call it a high rate: " + end);
            assertTrue(captured > 0, end.toString());
            new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "SIGTERM did not stop the vswitch");
            assertEquals(0, p.exitValue());

            Path pcap = dir.resolve("hot.pcap");
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int rc = CaptureMain.run(
                    new String[] {"export", "hot", "--pcap", pcap.toString(), "--state-dir", state.toString()},
                    new PrintStream(new ByteArrayOutputStream()),
                    new PrintStream(err));
            assertEquals(0, rc, err.toString());
            assertEquals(captured, packets(pcap));
        } finally {
            p.destroyForcibly();
        }
    }

    /** Packets in a nanosecond pcap of 64-byte frames, each checked. */
    private static long packets(Path f) throws Exception {
        try (FileChannel ch = FileChannel.open(f)) {
            ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(0xa1b23c4d, b.getInt(0));
            long n = 0;
            int pos = 24;
            while (pos < b.limit()) {
                int cap = b.getInt(pos + 8);
                int orig = b.getInt(pos + 12);
                assertTrue(cap == 64 && orig == 64, cap + "/" + orig + " at " + pos);
                pos += 16 + cap;
                n++;
            }
            assertEquals(b.limit(), pos);
            return n;
        }
    }

    private static String ctl(String sock, String... args) {
        List<String> all = new ArrayList<>(List.of("--control", sock));
        all.addAll(List.of(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = CtlMain.run(
                all.toArray(new String[0]),
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, rc, String.join(" ", args) + ": " + err.toString(StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8);
    }
}
