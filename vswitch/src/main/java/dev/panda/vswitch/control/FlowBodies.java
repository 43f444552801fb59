package dev.panda.vswitch.control;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FlowJson;
import dev.panda.vswitch.flow.FlowMod;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code POST /v1/bridges/{br}/flows} bodies that carry a list (add-flows): {@code {"flows":
 * [FLOW-MOD, ...]}}, each element what one add-flow call takes ({@code {"flow": "..."}} or fields,
 * {@code "command"} add when absent), at least one and at most {@link #MAX_FLOW_MODS}. A refusal is
 * a 400 naming the element, as field and at the start of the message: {@code flows[3]: unknown
 * field or keyword 'colour'}.
 */
final class FlowBodies {

    /**
     * Most flow mods one call takes: what a bridge holds by default. The 1 MiB body limit stops a
     * list sooner (about 15,000-20,000 flows of ovs-ofctl text of ordinary length).
     */
    static final int MAX_FLOW_MODS = BridgeFlows.DEFAULT_MAX_FLOWS;

    private static final String EXAMPLE = "{\"flows\": [{\"flow\": \"priority=10,ip,actions=output:2\"}, ...]}";

    private FlowBodies() {}

    /** The flow mods of a list body, or null when {@code root} is not one (a single flow mod). */
    static List<FlowMod> list(JsonNode root) {
        if (root == null || !root.isObject() || !root.has("flows")) {
            return null;
        }
        if (root.size() != 1) {
            throw new VswitchException(400, "\"flows\" goes alone in the body: " + EXAMPLE);
        }
        JsonNode a = root.get("flows");
        if (!a.isArray()) {
            throw new VswitchException(
                    400,
                    "flows: expected a list of flow mods, got "
                            + a.getNodeType().name().toLowerCase(Locale.ROOT) + ": " + EXAMPLE,
                    "flows");
        }
        if (a.isEmpty()) {
            throw new VswitchException(400, "flows: an empty list: nothing to apply", "flows");
        }
        if (a.size() > MAX_FLOW_MODS) {
            throw new VswitchException(
                    400,
                    "flows: " + a.size() + " flow mods, more than the " + MAX_FLOW_MODS + " one call takes",
                    "flows");
        }
        List<FlowMod> mods = new ArrayList<>(a.size());
        for (int i = 0; i < a.size(); i++) {
            try {
                mods.add(FlowJson.parse(a.get(i), FlowMod.Command.ADD));
            } catch (IllegalArgumentException e) {
                String field = "flows[" + i + "]";
                throw new VswitchException(400, field + ": " + ControlRoutes.oneLine(e.getMessage()), field);
            }
        }
        return mods;
    }
}
