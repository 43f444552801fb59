package dev.panda.vswitch.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panda.vswitch.VswitchException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Two configs from any bytes (split at the first NUL), as a {@code PUT /v1/config} body would
 * bring them: either is refused with one line, or their difference names exactly the ports and
 * bridges one has and the other has not, one line each, and a config against itself or its own
 * printout differs in nothing.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code ConfigDiffFuzzTestInputs/} run.
 */
class ConfigDiffFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void differencesNameWhatDiffers(byte[] input) {
        int nul = 0;
        while (nul < input.length && input[nul] != 0) {
            nul++;
        }
        VswitchConfig a;
        VswitchConfig b;
        try {
            a = ConfigFiles.parseYaml(Arrays.copyOfRange(input, 0, nul), "a.yaml");
            b = nul < input.length ? ConfigFiles.configFromJson(Arrays.copyOfRange(input, nul + 1, input.length)) : a;
        } catch (VswitchException e) {
            assertEquals(400, e.status());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            return;
        }
        assertTrue(ConfigDiff.between(a, a).isEmpty());
        VswitchConfig printed = ConfigFiles.configFromJson(ConfigFiles.toJson(a).getBytes());
        assertTrue(ConfigDiff.between(a, printed).isEmpty());
        ConfigDiff d = ConfigDiff.between(a, b);
        assertEquals(d.changes().size(), d.text().lines().count(), d.text());
        assertEquals(ports(b, a), names(d, "+", "port"));
        assertEquals(ports(a, b), names(d, "-", "port"));
        assertEquals(bridges(b, a), names(d, "+", "bridge"));
        assertEquals(bridges(a, b), names(d, "-", "bridge"));
        // symmetric but for the documented one-way rule: an empty desired pmd cores list ("the
        // vswitch picks") matches whatever runs, while a running empty list differs from a given one
        assertEquals(
                withoutCores(d).isEmpty(),
                withoutCores(ConfigDiff.between(b, a)).isEmpty());
    }

    /** The changes other than a pmd cores change. */
    private static List<ConfigDiff.Change> withoutCores(ConfigDiff d) {
        return d.changes().stream()
                .filter(c -> !(c instanceof ConfigDiff.PmdChanged p && p.field().equals("cores")))
                .toList();
    }

    /** Ports of {@code x} (by name) that {@code y} has not. */
    private static Set<String> ports(VswitchConfig x, VswitchConfig y) {
        Set<String> out = new HashSet<>();
        x.bridges().forEach(br -> br.ports().forEach(p -> out.add(p.name())));
        y.bridges().forEach(br -> br.ports().forEach(p -> out.remove(p.name())));
        return out;
    }

    private static Set<String> bridges(VswitchConfig x, VswitchConfig y) {
        Set<String> out = new HashSet<>();
        x.bridges().forEach(br -> out.add(br.name()));
        y.bridges().forEach(br -> out.remove(br.name()));
        return out;
    }

    private static Set<String> names(ConfigDiff d, String op, String kind) {
        Set<String> out = new HashSet<>();
        for (ConfigDiff.Change c : d.changes()) {
            if (c.op().equals(op) && c.kind().equals(kind)) {
                assertTrue(out.add(kind.equals("port") ? c.port() : c.bridge()), "twice: " + c.line());
            }
        }
        return out;
    }
}
