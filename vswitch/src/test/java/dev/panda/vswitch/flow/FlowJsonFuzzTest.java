package dev.panda.vswitch.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Any bytes as a flow mod's JSON body (the control API's {@code POST /v1/bridges/{br}/flows}):
 * parsed, or refused with an IllegalArgumentException carrying a message; what parses is applied
 * or refused by the tables without a change; what dump-flows prints of an added flow parses back
 * to the same match and priority.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code FlowJsonFuzzTestInputs/} run.
 */
class FlowJsonFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void anyBytesAreAFlowModOrARefusal(byte[] body) {
        FlowMod m;
        try {
            m = FlowJson.parse(body, FlowMod.Command.ADD);
        } catch (IllegalArgumentException e) {
            assertNotNull(e.getMessage());
            return;
        }
        BridgeFlows f = new BridgeFlows("br0", 1, 16);
        FlowModResult r = f.apply(m);
        assertTrue(r.isOk() || (r.message() != null && f.flowCount() == 0));
        for (FlowStats s : f.flows(FlowFilter.ALL)) {
            // what dump-flows prints parses back to the same flow
            FlowMod again = FlowText.parse(
                    "table=" + s.tableId() + ",priority=" + s.priority() + "," + FlowFormat.match(s.match())
                            + ",actions=" + FlowFormat.instructions(s.instructions()),
                    FlowMod.Command.ADD);
            assertEquals(s.match(), again.match().normalized(), FlowFormat.match(s.match()));
            assertEquals(s.priority(), again.priority());
        }
    }
}
