package dev.panda.vswitch.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.vswitch.FakeControl;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.ConfigFiles;
import dev.panda.vswitch.config.VswitchConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Any bytes as the JSON body of add-br and add-port (through the routes, over a {@link
 * FakeControl}) and as a whole config: applied (201) or refused with 400/404/409 and a one-line
 * JSON error; a 400 that names a field starts its message with that field; a refused body changes
 * nothing. A config that parses writes back to JSON that parses to the same.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code ControlBodyFuzzTestInputs/} run.
 */
class ControlBodyFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void anyBodyIsAppliedOrRefusedNamingTheField(byte[] body) throws IOException {
        FakeControl control = new FakeControl();
        control.addBridge(BridgeConfig.of("br0"));
        ControlRoutes routes = new ControlRoutes(control);
        for (List<String> path : List.of(List.of("v1", "bridges"), List.of("v1", "bridges", "br0", "ports"))) {
            String before = ConfigFiles.toJson(control.config());
            ControlRoutes.Response r = routes.handle(new ControlRoutes.Request("POST", path, Map.of(), null, body));
            assertTrue(Set.of(201, 400, 404, 409).contains(r.status()), r.status() + " " + new String(r.body()));
            if (r.status() == 201) {
                continue;
            }
            assertEquals(before, ConfigFiles.toJson(control.config()), "a refused body changed the state");
            JsonNode n = Json.MAPPER.readTree(r.body());
            assertEquals(r.status(), n.get("status").asInt());
            String error = n.get("error").asText();
            assertFalse(error.isBlank() || error.contains("\n") || error.contains("\r"), error);
            if (n.has("field")) {
                assertEquals(400, r.status());
                assertTrue(error.startsWith(n.get("field").asText() + ": "), error);
            }
        }
        VswitchConfig c;
        try {
            c = ConfigFiles.configFromJson(body);
        } catch (VswitchException e) {
            assertEquals(400, e.status());
            assertFalse(e.getMessage().isBlank() || e.getMessage().contains("\n"), e.getMessage());
            if (e.field() != null) {
                assertTrue(e.getMessage().startsWith(e.field() + ": "), e.getMessage());
            }
            return;
        }
        assertEquals(c, ConfigFiles.configFromJson(ConfigFiles.toJson(c).getBytes(StandardCharsets.UTF_8)));
    }
}
