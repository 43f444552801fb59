package dev.panda.vswitch.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.vswitch.control.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code panda ctl apply} and {@code PUT /v1/config} against a fake {@link
 * dev.panda.vswitch.Control} behind the real control server: the difference printed one line per
 * change, {@code --dry-run}, {@code --json}, YAML and JSON bodies by Content-Type (curl), and the
 * refusals (a file's bad line, a bad part, an empty body, a bad flag), each one line with nothing
 * changed.
 */
class CtlApplyTest extends CtlServerFixture {

    Path file(String name, String yaml) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, yaml);
        return f;
    }

    static final String FIRST = """
            bridges:
              - name: br0
                ports:
                  - {name: vm1, device: 'net_null0'}
                  - {name: c1, device: 'net_null1', tag: 10}
            """;

    static final String SECOND = """
            bridges:
              - name: br0
                mac-aging: 60
                ports:
                  - {name: c1, device: 'net_null1', tag: 20}
                  - {name: c3, device: 'net_null3', trunks: [10, 20]}
            """;

    @Test
    void applyPrintsTheDifferenceAndDryRunChangesNothing() throws Exception {
        CtlRun r = ctl("apply", file("a.yaml", FIRST).toString());
        assertEquals(0, r.status(), r.err());
        assertEquals("""
                + bridge br0 mac-aging 300 mac-table-size 8192
                + port br0 vm1 device 'net_null0'
                + port br0 c1 device 'net_null1' tag 10
                """, r.out());
        String show = ctl("show").out();
        Path second = file("b.yaml", SECOND);
        String expected = """
                - port br0 vm1
                + port br0 c3 device 'net_null3' trunks 10,20
                ~ bridge br0 mac-aging 300 -> 60
                ~ port br0 c1 tag 10 -> 20
                """;
        r = ctl("apply", "--dry-run", second.toString());
        assertEquals(0, r.status(), r.err());
        assertEquals(expected, r.out());
        assertEquals(show, ctl("show").out(), "a dry run changed the switch");
        r = ctl("--json", "apply", second.toString(), "--dry-run");
        JsonNode j = Json.MAPPER.readTree(r.out());
        assertTrue(j.get("dry-run").asBoolean());
        assertEquals(false, j.get("applied").asBoolean());
        assertEquals("~ port br0 c1 tag 10 -> 20", j.at("/changes/3/line").asText());
        assertEquals("port", j.at("/changes/3/kind").asText());
        assertEquals("c1", j.at("/changes/3/port").asText());
        r = ctl("apply", second.toString());
        assertEquals(expected, r.out());
        // config-show fed back: nothing to do, nothing printed
        Path shown = file("shown.yaml", ctl("config-show").out());
        r = ctl("apply", shown.toString());
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.out());
        r = ctl("--json", "apply", shown.toString());
        assertEquals(0, Json.MAPPER.readTree(r.out()).get("changes").size());
    }

    @Test
    void refusalsAreOneLineAndChangeNothing() throws Exception {
        ctl("apply", file("a.yaml", FIRST).toString());
        refused(
                dir.resolve("bad.yaml") + ":4: bridges[0].ports[0].tag: 5000 is not a VLAN (1..4094)",
                "apply",
                file("bad.yaml", "bridges:\n  - name: br0\n    ports:\n      - {name: x, device: n, tag: 5000}\n")
                        .toString());
        refused(
                "port br0/x: unknown device 'bad0' (nothing changed)",
                "apply",
                file("part.yaml", SECOND.replace("net_null3", "bad0").replace("c3", "x"))
                        .toString());
        refused(
                dir.resolve("none.yaml") + ": no such file",
                "apply",
                dir.resolve("none.yaml").toString());
        refused("apply: missing arguments; usage: apply FILE|- [--dry-run]", "apply");
        refused("apply: too many arguments; usage: apply FILE|- [--dry-run]", "apply", "a", "b");
        refused("apply: --dry-run given twice", "apply", "--dry-run", "x", "--dry-run");
    }

    void refused(String expected, String... args) {
        String before = ctl("config-show").out();
        CtlRun r = ctl(args);
        assertEquals(2, r.status(), r.out());
        assertEquals("", r.out());
        assertEquals("panda ctl: " + expected + "\n", r.err());
        assertEquals(before, ctl("config-show").out(), "config before equals config after");
    }

    @Test
    void putConfigTakesYamlOrJsonByContentType() throws Exception {
        Path yaml = file("a.yaml", FIRST);
        String out = curl(
                "-X",
                "PUT",
                "-H",
                "Content-Type: application/yaml",
                "--data-binary",
                "@" + yaml,
                "http://x/v1/config?dry-run=1");
        assertTrue(out.endsWith("200"), out);
        assertEquals(
                3,
                Json.MAPPER
                        .readTree(out.substring(0, out.length() - 3))
                        .get("changes")
                        .size(),
                out);
        assertTrue(control.bridges.isEmpty(), "dry-run=1 changed the switch");
        // YAML without a Content-Type too (it does not start with '{')
        out = curl("-X", "PUT", "--data-binary", "@" + yaml, "http://x/v1/config");
        assertTrue(out.endsWith("200") && out.contains("\"applied\" : true"), out);
        assertEquals(List.of("br0"), List.copyOf(control.bridges.keySet()));
        // JSON: what GET /v1/config answers goes back unchanged
        String json = curl("http://x/v1/config").replaceAll("200$", "");
        Path jf = file("c.json", json);
        out = curl(
                "-X", "PUT", "-H", "Content-Type: application/json", "--data-binary", "@" + jf, "http://x/v1/config");
        assertTrue(out.endsWith("200") && out.contains("\"changes\" : [ ]"), out);
        // a YAML body's refusal names its line
        Path bad = file("bad.yaml", "bridges:\n  - name: br0\n    nope: 1\n");
        out = curl(
                "-X", "PUT", "-H", "Content-Type: application/yaml", "--data-binary", "@" + bad, "http://x/v1/config");
        assertTrue(out.endsWith("400") && out.contains("request body:3: bridges[0].nope: unknown key"), out);
        // JSON declared, YAML sent: refused as JSON
        out = curl(
                "-X", "PUT", "-H", "Content-Type: application/json", "--data-binary", "@" + yaml, "http://x/v1/config");
        assertTrue(out.endsWith("400") && out.contains("not JSON"), out);
        out = curl("-X", "PUT", "http://x/v1/config");
        assertTrue(out.endsWith("400") && out.contains("empty body"), out);
        out = curl("-X", "PUT", "--data-binary", "@" + yaml, "http://x/v1/config?dry-run=maybe");
        assertTrue(out.endsWith("400") && out.contains("dry-run: 'maybe' is not 1 or 0"), out);
        out = curl("-X", "POST", "-i", "--data-binary", "@" + yaml, "http://x/v1/config");
        assertTrue(out.endsWith("405") && out.toLowerCase(java.util.Locale.ROOT).contains("allow: get, put"), out);
        assertEquals(List.of("br0"), List.copyOf(control.bridges.keySet()));
    }

    private String curl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(
                List.of("curl", "-sS", "--max-time", "10", "-w", "%{http_code}", "--unix-socket", sock.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out;
    }
}
