package dev.panda.vswitch.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** A bridge's {@code fail-mode} in the config file: read, refused, written back, diffed by apply. */
class FailModeConfigTest {

    private static final String SECURE = """
            bridges:
              - name: br0
                fail-mode: secure
            """;

    @Test
    void readWrittenBackAndDiffed() {
        VswitchConfig c = ConfigFilesTest.parse(SECURE);
        assertEquals("secure", c.bridges().get(0).failMode());
        String yaml = ConfigFiles.toYaml(c);
        assertTrue(yaml.contains("fail-mode: secure"), yaml);
        assertEquals(c, ConfigFiles.parseYaml(yaml.getBytes(StandardCharsets.UTF_8), "again"));
        assertEquals(c, ConfigFiles.configFromJson(ConfigFiles.toJson(c).getBytes(StandardCharsets.UTF_8)));

        VswitchConfig standalone = ConfigFilesTest.parse("bridges:\n  - name: br0\n");
        assertEquals("standalone", standalone.bridges().get(0).failMode());
        assertFalse(ConfigFiles.toYaml(standalone).contains("fail-mode"), "the default is not written");

        ConfigDiff d = ConfigDiff.between(standalone, c);
        String tree = d.toTree(true, false).toString();
        assertTrue(tree.contains("~ bridge br0 fail-mode standalone -> secure"), tree);
        assertTrue(ConfigDiff.between(c, c).toTree(true, false).toString().contains("\"changes\":[]"));
        VswitchConfig none = ConfigFilesTest.parse("bridges: []\n");
        assertTrue(
                ConfigDiff.between(none, c)
                        .toTree(true, false)
                        .toString()
                        .contains("+ bridge br0 mac-aging 300" + " mac-table-size 8192 fail-mode secure"),
                ConfigDiff.between(none, c).toTree(true, false).toString());
    }

    @Test
    void anotherModeIsRefusedNamingTheLine() {
        assertEquals(
                "vswitch.yaml:3: bridges[0].fail-mode: 'open' is not a fail mode (secure or standalone)",
                ConfigFilesTest.refusal(SECURE.replace("secure", "open")));
    }
}
