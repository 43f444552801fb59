package dev.panda.vswitch.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.control.Json;
import dev.panda.vswitch.flow.FlowMod;
import dev.panda.vswitch.flow.FlowModCodec;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;

/**
 * The payloads of the flow and capture kinds and the snapshot form, from untrusted bytes (a
 * journal is a file anyone with the directory can edit): the first byte picks flow-mod,
 * flow-expired, capture-start, capture-stop or a snapshot, the rest is the payload. Each replays on
 * a state with bridges and a port, or is refused with {@link IllegalArgumentException} and a
 * one-line message; nothing else escapes. What replays comes back the same through a snapshot, and
 * a flow mod the codec reads it writes back to the same flow mod.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code FlowJournalFuzzTestInputs/} run.
 */
class FlowJournalFuzzTest {

    private static final ChangeKinds KINDS = ChangeKinds.standard();
    private static final JournalState STATE = JournalState.of(new VswitchConfig(
            null,
            List.of(
                    BridgeConfig.of("br0").withPorts(List.of(PortConfig.of("p1", "net_null0"))),
                    BridgeConfig.of("br1"))));
    private static final String[] KIND = {
        ChangeKinds.FLOW_MOD, ChangeKinds.FLOW_EXPIRED, ChangeKinds.CAPTURE_START, ChangeKinds.CAPTURE_STOP
    };

    @FuzzTest(maxDuration = "20s")
    void anyFlowOrCapturePayloadReplaysOrIsRefused(byte[] input) {
        if (input.length == 0) {
            return;
        }
        int pick = (input[0] & 0xff) % 5;
        byte[] payload = Arrays.copyOfRange(input, 1, input.length);
        if (pick == 4) {
            JournalState s;
            try {
                s = JournalState.fromSnapshot(payload);
            } catch (IllegalArgumentException e) {
                refusal(e);
                return;
            }
            JournalState again = JournalState.fromSnapshot(s.toBytes());
            assertEquals(s.flows(), again.flows());
            assertEquals(s.captures(), again.captures());
            return;
        }
        if (pick == 0) {
            codec(payload);
        }
        JournalState after;
        try {
            after = KINDS.replay(STATE, KIND[pick], payload);
        } catch (IllegalArgumentException e) {
            refusal(e);
            return;
        }
        JournalState again = JournalState.fromSnapshot(after.toBytes());
        assertEquals(after.flows(), again.flows());
        assertEquals(after.captures(), again.captures());
    }

    private static void codec(byte[] payload) {
        JsonNode mod;
        try {
            JsonNode n = Json.MAPPER.readTree(payload);
            mod = n == null ? null : n.get("mod");
        } catch (IOException e) {
            return;
        }
        FlowMod m;
        try {
            m = FlowModCodec.decode(mod);
        } catch (IllegalArgumentException e) {
            refusal(e);
            return;
        }
        assertEquals(m, FlowModCodec.decode(FlowModCodec.encode(m)));
    }

    private static void refusal(IllegalArgumentException e) {
        assertNotNull(e.getMessage());
        assertFalse(e.getMessage().isBlank());
    }
}
