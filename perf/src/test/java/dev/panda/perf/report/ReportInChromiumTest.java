package dev.panda.perf.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * report.html with known figures (every kind of plot, the latency section too) opened in headless
 * Chromium: every SVG renders with a non-empty box and content, the console stays free of errors,
 * and the screenshot is kept as target/report-sample.png. A page with a script error proves the
 * console check catches one.
 */
@Tag("peer")
class ReportInChromiumTest {

    @TempDir
    Path dir;

    @Test
    void sampleReportRendersEveryPlotWithoutConsoleErrors() throws Exception {
        ReportFiles.write(ReportRenderTest.sample(), dir);
        long svgs = Pattern.compile("<svg")
                .matcher(Files.readString(dir.resolve("report.html")))
                .results()
                .count();
        Path png = Path.of("target", "report-sample.png");
        try (HeadlessChromium chromium = new HeadlessChromium()) {
            HeadlessChromium.PageResult r = chromium.load(dir.resolve("report.html"), png);
            assertEquals(java.util.List.of(), r.errors(), "console errors");
            assertEquals(svgs, r.svgElements(), "svg elements in the DOM");
            assertEquals(svgs, r.renderedSvgElements(), "svg elements rendered with a box and shapes");
            assertTrue(r.screenshotBytes() > 20_000, "screenshot of " + r.screenshotBytes() + " bytes");
        }
        byte[] head = Files.readAllBytes(png);
        assertEquals((byte) 0x89, head[0]);
        assertEquals('P', head[1]);
    }

    @Test
    void theConsoleCheckCatchesAScriptError() throws Exception {
        Path page = dir.resolve("broken.html");
        Files.writeString(
                page,
                "<!DOCTYPE html><html><body><svg width=\"10\" height=\"10\"><rect width=\"5\" height=\"5\"/></svg>"
                        + "<script>console.error('drawn badly'); undefinedFunction();</script></body></html>");
        try (HeadlessChromium chromium = new HeadlessChromium()) {
            HeadlessChromium.PageResult r = chromium.load(page, dir.resolve("broken.png"));
            assertEquals(1, r.renderedSvgElements());
            assertTrue(
                    r.errors().stream().anyMatch(e -> e.contains("drawn badly")),
                    r.errors().toString());
            assertTrue(
                    r.errors().stream().anyMatch(e -> e.contains("undefinedFunction")),
                    r.errors().toString());
            assertFalse(r.errors().isEmpty());
        }
    }
}
