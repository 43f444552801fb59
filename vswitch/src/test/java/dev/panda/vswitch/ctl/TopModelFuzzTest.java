package dev.panda.vswitch.ctl;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.vswitch.control.Json;
import dev.panda.vswitch.ctl.TopModel.SortKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jline.utils.AttributedString;

/**
 * Any three answers (the input split at its first two NUL bytes: show, ports/stats, pmd-stats) are
 * read into a sample or refused with a one-line {@link TopModel.MalformedException}; a sample read
 * renders on a small and a wide screen and as {@code --once} without failing, no line wider than
 * the screen, and nothing from the answers reaches the terminal as a control character.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code TopModelFuzzTestInputs/} run.
 */
class TopModelFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void anyAnswersReadOrRefuseInOneLine(byte[] input) throws Exception {
        String[] parts = new String(input, StandardCharsets.UTF_8).split("\u0000", 3);
        if (parts.length < 3) {
            return;
        }
        JsonNode[] n = new JsonNode[3];
        for (int i = 0; i < 3; i++) {
            try {
                n[i] = Json.MAPPER.readTree(parts[i]);
            } catch (IOException e) {
                return; // not JSON: TopMain refuses it before the model sees it
            }
        }
        TopModel.Sample s;
        try {
            s = TopModel.Sample.parse(n[0], n[1], n[2], 1_000_000_000L, 1_000_001_000L);
        } catch (TopModel.MalformedException e) {
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            return;
        }
        TopModel.Sample later = new TopModel.Sample(
                2_000_000_000L, 2_000_001_000L, s.mode(), s.cores(), s.ports(), s.pmds(), s.bridges());
        for (TopModel.View v : List.of(TopModel.compute(null, s), TopModel.compute(s, later))) {
            for (SortKey k : SortKey.values()) {
                TopState st = new TopState(k);
                for (boolean detail : new boolean[] {false, true}) {
                    st.detail = detail;
                    check(TopRender.screen(v, st, new TopRender.Frame("/s", 1, "00:00:00", "status", 8, 30)), 30);
                    check(TopRender.screen(v, st, new TopRender.Frame("/s", 1, "00:00:00", null, 60, 200)), 200);
                }
                String once = TopRender.once(v, k, "/s");
                assertTrue(once.chars().noneMatch(c -> c != '\n' && Character.isISOControl(c)), once);
            }
        }
    }

    private static void check(List<AttributedString> lines, int cols) {
        for (AttributedString l : lines) {
            assertTrue(l.columnLength() <= cols, l.toString());
            assertTrue(l.toString().chars().noneMatch(Character::isISOControl), l.toString());
        }
    }
}
