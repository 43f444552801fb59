package dev.panda.perf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report's options: clear errors for bad ones, and a run with nothing to measure still writes its files. */
class PerfReportOptionsTest {

    @TempDir
    Path dir;

    private record Run(int rc, String out) {}

    private static Run perf(String... args) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        int rc = PerfMain.run(args, out, out);
        return new Run(rc, buf.toString(StandardCharsets.UTF_8));
    }

    @Test
    void badOptionsAreRefusedWithTheAcceptedOnes() {
        Run r = perf("report", "--only", "ring-io,warp-drive");
        assertEquals(2, r.rc());
        assertTrue(r.out().contains("--only: unknown comparison 'warp-drive'; accepted ring-io, vhost-rx"), r.out());
        r = perf("report", "--fast");
        assertEquals(2, r.rc());
        assertTrue(r.out().contains("unknown report option '--fast'"), r.out());
        r = perf("report", "--out");
        assertEquals(2, r.rc());
        assertTrue(r.out().contains("option --out needs a value"), r.out());
        r = perf("report", "--pairs", "0");
        assertEquals(2, r.rc());
        assertTrue(r.out().contains("--pairs must be positive"), r.out());
        r = perf("report", "--help");
        assertEquals(0, r.rc());
        assertTrue(
                r.out().contains("names: ring-io, vhost-rx, virtio-tx, xdp-rxdrop, vswitch-loop, classifier, latency"));
    }

    @Test
    void classifierAloneIsSkippedWithOneLineAndTheFilesAreWritten() throws Exception {
        Path out = dir.resolve("r");
        Run r = perf("report", "--quick", "--only", "classifier", "--out", out.toString());
        assertEquals(0, r.rc(), r.out());
        assertTrue(
                r.out().contains("skip classifier: skipped, panda has no flows yet (OpenFlow is a later issue)"),
                r.out());
        JsonNode json = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        assertEquals("quick", json.path("mode").asText());
        assertEquals(0, json.path("comparisons").size());
        assertEquals(1, json.path("skipped").size());
        assertTrue(json.path("machine").path("cores").asInt() >= 1);
        assertTrue(
                Files.readString(out.resolve("report.md")).contains("- classifier: skipped, panda has no flows yet"));
        assertTrue(Files.readString(out.resolve("report.html")).contains("<li>classifier: skipped"));
    }
}
