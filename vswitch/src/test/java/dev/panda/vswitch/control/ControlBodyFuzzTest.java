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

    /**
     * Any bytes as the body of {@code POST /v1/bridges/br0/flows} (one flow mod, or add-flows'
     * {@code {"flows": [...]}}): applied (200; a list publishes one classifier at most) or refused with
     * 400/409 and a one-line JSON error (a field named starts it), the flows as they were and
     * nothing published.
     */
    @FuzzTest(maxDuration = "20s")
    void anyFlowsBodyIsAppliedWholeOrRefusedChangingNothing(byte[] body) throws IOException {
        FakeControl control = new FakeControl();
        control.addBridge(BridgeConfig.of("br0"));
        ControlRoutes routes = new ControlRoutes(control);
        var flows = control.flows("br0");
        flows.applyAll(List.of(
                dev.panda.vswitch.flow.FlowText.parse(
                        "priority=5,ip,nw_dst=10.0.0.0/8,actions=drop", dev.panda.vswitch.flow.FlowMod.Command.ADD),
                dev.panda.vswitch.flow.FlowText.parse(
                        "table=1,arp,actions=NORMAL", dev.panda.vswitch.flow.FlowMod.Command.ADD)));
        var before = flows.state();
        long published = flows.generation();
        ControlRoutes.Response r = routes.handle(
                new ControlRoutes.Request("POST", List.of("v1", "bridges", "br0", "flows"), Map.of(), null, body));
        assertTrue(Set.of(200, 400, 409).contains(r.status()), r.status() + " " + new String(r.body()));
        JsonNode n = Json.MAPPER.readTree(r.body());
        if (r.status() == 200) {
            if (n.has("flow-mods")) { // a list (one flow mod publishes each table it changes)
                assertTrue(flows.generation() - published <= 1, "more than one classifier for one list");
            }
            return;
        }
        assertEquals(before, flows.state(), "a refused body changed the flows");
        assertEquals(published, flows.generation(), "a refused body published a classifier");
        assertEquals(r.status(), n.get("status").asInt());
        String error = n.get("error").asText();
        assertFalse(error.isBlank() || error.contains("\n") || error.contains("\r"), error);
        if (n.has("field")) {
            assertTrue(error.startsWith(n.get("field").asText() + ": "), error);
        }
    }
}
