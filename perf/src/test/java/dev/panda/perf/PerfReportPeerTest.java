package dev.panda.perf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panda.perf.report.HeadlessChromium;
import dev.panda.perf.report.ReportChecks;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code panda perf report --quick --only ring-io,vhost-rx} against the real dpdk-testpmd (short
 * runs): the three files are written, report.json holds every pair with finite figures,
 * report.md's figures are report.json's, and report.html opened in headless Chromium renders one
 * SVG per plot with no console error. The report and its screenshot are kept in
 * target/perf-report-quick/ (report.png).
 */
@Tag("peer")
class PerfReportPeerTest {

    @Test
    void quickReportOfRingIoAndVhostRx() throws Exception {
        if (!DpdkProcess.available()) {
            fail(DpdkProcess.TESTPMD + " not found: run scripts/setup (installs Debian's dpdk-dev and hugepages)");
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        // kept under target/ with the screenshot, for CI to keep as artifacts
        Path report = Path.of("target", "perf-report-quick");
        if (Files.exists(report)) {
            try (var files = Files.list(report)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
        }
        int rc = PerfMain.run(
                new String[] {"report", "--quick", "--only", "ring-io,vhost-rx", "--out", report.toString()}, out, out);
        String printed = buf.toString(StandardCharsets.UTF_8);
        System.out.println(printed);
        assertEquals(0, rc, printed);
        assertTrue(!printed.contains("\nskip "), "nothing may be skipped here (dpdk-testpmd, hugepages):\n" + printed);
        for (String f : List.of("report.html", "report.json", "report.md")) {
            assertTrue(Files.size(report.resolve(f)) > 1000, f + " written");
        }
        // what ran was shown, and each result as it landed
        assertTrue(printed.contains("ring-io pair 1/2: panda"), printed);
        assertTrue(printed.contains("vhost-rx 1500 B pair 2/2: dpdk net_vhost"), printed);
        assertTrue(printed.contains("= vhost-rx-64: panda net_vhost"), printed);

        JsonNode json =
                new ObjectMapper().readTree(report.resolve("report.json").toFile());
        List<String> ids = new ArrayList<>();
        json.path("comparisons").forEach(c -> ids.add(c.path("id").asText()));
        assertEquals(List.of("ring-io", "vhost-rx-64", "vhost-rx-1500"), ids);
        for (JsonNode c : json.path("comparisons")) {
            assertEquals(2, c.path("pairs").size(), c.path("id").asText());
            for (JsonNode p : c.path("pairs")) {
                for (String side : List.of("panda", "peer")) {
                    double mpps = p.path(side).path("mpps").asDouble(-1);
                    assertTrue(mpps > 0, c.path("id") + " " + side + " Mpps " + p.path(side));
                    assertEquals(2, p.path(side).path("perSecondMpps").size(), "2 s per run in --quick");
                    assertTrue(p.path(side).path("otherCpuPercent").isNumber(), "CPU use of others watched");
                    double cycles = p.path(side).path("cyclesPerPacket").asDouble(-1);
                    assertTrue(
                            cycles > 0 && cycles < 100_000,
                            c.path("id") + " " + side + " busy cycles/packet (--record-core-cycles) " + p.path(side));
                }
            }
        }
        assertTrue(
                json.path("machine").path("dpdk").asText().startsWith("DPDK "),
                json.path("machine").toString());
        assertTrue(json.path("crossCpuRoundTrip").size() >= 10, "a round-trip sample about every second");

        int figures = ReportChecks.markdownMatchesJson(report);
        assertTrue(figures >= 40, "figures compared: " + figures);

        long svgs = Pattern.compile("<svg")
                .matcher(Files.readString(report.resolve("report.html")))
                .results()
                .count();
        assertEquals(1 + 3 * 3, svgs, "round trips, and Mpps, ratios and busy cycles per comparison");
        try (HeadlessChromium chromium = new HeadlessChromium()) {
            HeadlessChromium.PageResult page =
                    chromium.load(report.resolve("report.html"), report.resolve("report.png"));
            assertEquals(List.of(), page.errors(), "console errors");
            assertEquals(svgs, page.svgElements(), "svg elements in the DOM");
            assertEquals(svgs, page.renderedSvgElements(), "svg elements rendered with a box and shapes");
            assertTrue(page.screenshotBytes() > 20_000);
        }
    }
}
