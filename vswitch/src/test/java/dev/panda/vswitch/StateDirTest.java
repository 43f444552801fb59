package dev.panda.vswitch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.config.ConfigFiles;
import dev.panda.vswitch.config.VswitchConfig;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The state directory: {@code state-dir} in the config file (printed back by config-show only when
 * given), {@code --state-dir} on the command line over the file, and refusals naming the field.
 */
class StateDirTest {

    private static VswitchConfig yaml(String s) {
        return ConfigFiles.parseYaml(s.getBytes(StandardCharsets.UTF_8), "vswitch.yaml");
    }

    @Test
    void fileAndCommandLine() {
        VswitchConfig c = yaml("state-dir: /srv/panda\nbridges: []\n");
        assertEquals("/srv/panda", c.stateDir());
        assertTrue(
                ConfigFiles.toYaml(c).contains("state-dir: \"/srv/panda\"")
                        || ConfigFiles.toYaml(c).contains("state-dir: /srv/panda"),
                ConfigFiles.toYaml(c));
        assertEquals(c, yaml(ConfigFiles.toYaml(c)));
        assertNull(yaml("bridges: []\n").stateDir());
        assertTrue(!ConfigFiles.toYaml(yaml("bridges: []\n")).contains("state-dir"));

        VswitchMain.Options o = VswitchMain.parse(new String[] {"--state-dir", "/tmp/x"});
        assertEquals("/tmp/x", VswitchMain.apply(o, c).stateDir());
        assertEquals(
                "/srv/panda",
                VswitchMain.apply(VswitchMain.parse(new String[0]), c).stateDir());
        assertEquals(
                "/tmp/y",
                VswitchMain.apply(VswitchMain.parse(new String[] {"--state-dir=/tmp/y"}), c)
                        .stateDir());
    }

    @Test
    void refusals() {
        VswitchException e = assertThrows(VswitchException.class, () -> yaml("state-dir: ''\n"));
        assertTrue(e.getMessage().contains("state-dir: is empty"), e.getMessage());
        e = assertThrows(VswitchException.class, () -> yaml("state-dir: [1]\n"));
        assertTrue(e.getMessage().contains("state-dir: expected a string"), e.getMessage());
        var u = assertThrows(RuntimeException.class, () -> VswitchMain.parse(new String[] {"--state-dir"}));
        assertTrue(u.getMessage().contains("--state-dir needs a value"), u.getMessage());
    }
}
