package dev.panda.perf.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Off a terminal: one plain line per run start with the share done and the time left; result lines pass through. */
class ProgressTest {

    @Test
    void plainLinesOffATerminal() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        try (Progress p = new Progress(out, false, 100)) {
            p.section(10);
            p.starting("a pair 1/2: panda");
            p.lines().println("  pair 1  panda 1.000 Mpps");
            p.endSection(50);
            p.section(25);
            p.starting("b pair 1/2: peer");
        }
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(3, lines.length, String.join("\n", lines));
        assertTrue(lines[0].matches("  \\[  0%, 0:00 elapsed, ~1:40 left\\] a pair 1/2: panda"), lines[0]);
        assertEquals("  pair 1  panda 1.000 Mpps", lines[1]);
        assertTrue(lines[2].matches("  \\[ 50%, 0:00 elapsed, ~0:50 left\\] b pair 1/2: peer"), lines[2]);
        assertTrue(!buf.toString(StandardCharsets.UTF_8).contains("\r"), "no carriage return off a terminal");
    }

    @Test
    void onATerminalTheBarIsRedrawnInPlaceAndClearedBeforeALine() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        try (Progress p = new Progress(out, true, 100)) {
            p.section(10);
            p.starting("a pair 1/2: panda");
            p.line("result");
        }
        String s = buf.toString(StandardCharsets.UTF_8);
        assertTrue(s.startsWith("\r\033[K[------------------------]   0%"), s);
        assertTrue(s.contains("a pair 1/2: panda\r\033[Kresult\n"), s);
    }
}
