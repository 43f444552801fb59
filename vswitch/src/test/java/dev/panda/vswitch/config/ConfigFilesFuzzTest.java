package dev.panda.vswitch.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panda.vswitch.VswitchException;

/**
 * Any bytes as the config file either load or are refused with a one-line {@link VswitchException}
 * (400); nothing else escapes; the same for the bytes as an add-port JSON body. A config that loads writes back to YAML that loads to the same.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code ConfigFilesFuzzTestInputs/} run.
 */
class ConfigFilesFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void anyBytesLoadOrRefuseInOneLine(byte[] input) {
        try {
            ConfigFiles.portFromJson(input);
        } catch (VswitchException e) {
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
        VswitchConfig c;
        try {
            c = ConfigFiles.parseYaml(input, "fuzz.yaml");
        } catch (VswitchException e) {
            assertEquals(400, e.status());
            assertFalse(e.getMessage().isBlank(), "empty message");
            assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\r"), e.getMessage());
            return;
        }
        assertEquals(c, ConfigFiles.parseYaml(ConfigFiles.toYaml(c).getBytes(), "again.yaml"));
    }
}
