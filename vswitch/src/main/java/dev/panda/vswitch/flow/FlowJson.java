package dev.panda.vswitch.flow;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Flow mods and flows as the control API's JSON. A flow mod is either
 * {@code {"flow": "priority=10,ip,actions=output:2"}} (ovs-ofctl's text, see {@link FlowText}) or
 * fields:
 *
 * <pre>
 * {"command": "add", "table": 0, "priority": 100, "cookie": "0x1f", "cookie-mask": "0xff",
 *  "idle-timeout": 10, "hard-timeout": 0, "flags": ["send_flow_rem"], "out-port": "2",
 *  "match": {"in_port": 1, "eth_type": "0x0800", "ipv4_dst": "198.18.0.0/24"},
 *  "actions": "output:2"}
 * </pre>
 *
 * Every refusal is an IllegalArgumentException naming the key.
 */
public final class FlowJson {

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private static final Set<String> KEYS = Set.of(
            "command",
            "flow",
            "table",
            "priority",
            "cookie",
            "cookie-mask",
            "idle-timeout",
            "hard-timeout",
            "flags",
            "out-port",
            "match",
            "actions");

    private FlowJson() {}

    /** The command a name stands for: add, modify, modify-strict, delete, delete-strict. */
    public static FlowMod.Command command(String s) {
        return switch (s.toLowerCase(Locale.ROOT).replace('_', '-')) {
            case "add" -> FlowMod.Command.ADD;
            case "modify", "mod" -> FlowMod.Command.MODIFY;
            case "modify-strict", "mod-strict" -> FlowMod.Command.MODIFY_STRICT;
            case "delete", "del" -> FlowMod.Command.DELETE;
            case "delete-strict", "del-strict" -> FlowMod.Command.DELETE_STRICT;
            default ->
                throw new IllegalArgumentException("command: '" + FlowText.shorten(s)
                        + "' is not add, modify, modify-strict, delete or delete-strict");
        };
    }

    /** Parses a request body; {@code defaultCommand} when it names none. */
    public static FlowMod parse(byte[] body, FlowMod.Command defaultCommand) {
        return parse(tree(body), defaultCommand);
    }

    /** A request body as JSON (a repeated key refused); null for an empty body. */
    public static JsonNode tree(byte[] body) {
        try {
            return MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot read the body: " + e.getMessage());
        }
    }

    /** One flow mod as JSON (a body, or an element of a list of them); {@code defaultCommand} when it names none. */
    public static FlowMod parse(JsonNode root, FlowMod.Command defaultCommand) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("a flow is a JSON object");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYS.contains(k)) {
                throw new IllegalArgumentException("unknown key '" + FlowText.shorten(k) + "' (known: " + KEYS + ")");
            }
        }
        FlowMod.Command cmd = root.has("command") ? command(text(root, "command")) : defaultCommand;
        if (root.has("flow")) {
            if (root.size() > (root.has("command") ? 2 : 1)) {
                throw new IllegalArgumentException("\"flow\" (ovs-ofctl text) goes alone, or with \"command\"");
            }
            return FlowText.parse(text(root, "flow"), cmd);
        }
        boolean delete = cmd == FlowMod.Command.DELETE || cmd == FlowMod.Command.DELETE_STRICT;
        int table = root.has("table")
                ? (int) FlowText.number("table", text(root, "table"), 0, 255)
                : delete ? FlowMod.ALL_TABLES : 0;
        int priority = root.has("priority")
                ? (int) FlowText.number("priority", text(root, "priority"), 0, 0xffff)
                : FlowMod.DEFAULT_PRIORITY;
        long cookie = root.has("cookie") ? FlowText.unsigned("cookie", text(root, "cookie")) : 0;
        long cookieMask = root.has("cookie-mask") ? FlowText.unsigned("cookie-mask", text(root, "cookie-mask")) : 0;
        int idle = root.has("idle-timeout")
                ? (int) FlowText.number("idle-timeout", text(root, "idle-timeout"), 0, 0xffff)
                : 0;
        int hard = root.has("hard-timeout")
                ? (int) FlowText.number("hard-timeout", text(root, "hard-timeout"), 0, 0xffff)
                : 0;
        int flags = 0;
        if (root.has("flags")) {
            JsonNode f = root.get("flags");
            if (!f.isArray()) {
                throw new IllegalArgumentException("flags: a list, e.g. [\"send_flow_rem\"]");
            }
            for (JsonNode n : f) {
                flags |= switch (n.asText().toLowerCase(Locale.ROOT).replace('-', '_')) {
                    case "send_flow_rem" -> FlowMod.SEND_FLOW_REM;
                    case "check_overlap" -> FlowMod.CHECK_OVERLAP;
                    case "reset_counts" -> FlowMod.RESET_COUNTS;
                    case "no_packet_counts" -> FlowMod.NO_PKT_COUNTS;
                    case "no_byte_counts" -> FlowMod.NO_BYT_COUNTS;
                    default ->
                        throw new IllegalArgumentException("flags: '" + FlowText.shorten(n.asText())
                                + "' is not send_flow_rem, check_overlap or reset_counts");
                };
            }
        }
        int outPort = root.has("out-port") ? FlowText.port(text(root, "out-port")) : OfPort.ANY;
        Match.Builder mb = Match.builder();
        if (root.has("match")) {
            JsonNode m = root.get("match");
            if (!m.isObject()) {
                throw new IllegalArgumentException("match: an object of field: value");
            }
            FlowText.MatchAssembler ma = new FlowText.MatchAssembler(mb);
            for (Iterator<Map.Entry<String, JsonNode>> it = m.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode v = e.getValue();
                if (v.isNull() || v.isBoolean() && v.asBoolean()) {
                    ma.add(e.getKey(), null); // a shorthand: "ip": true
                } else if (v.isValueNode()) {
                    ma.add(e.getKey(), v.asText());
                } else {
                    throw new IllegalArgumentException(
                            "match." + FlowText.shorten(e.getKey()) + ": a string or number");
                }
            }
            ma.finish();
        }
        List<Instruction> ins = root.has("actions") ? FlowText.instructions(text(root, "actions")) : List.of();
        if (!root.has("actions") && !delete) {
            throw new IllegalArgumentException("an added or modified flow needs \"actions\" (\"drop\" to drop)");
        }
        return new FlowMod(
                cmd,
                table,
                priority,
                mb.build(),
                ins,
                cookie,
                cookieMask,
                idle,
                hard,
                flags,
                outPort,
                OfPort.GROUP_ANY);
    }

    private static String text(JsonNode root, String key) {
        JsonNode n = root.get(key);
        if (n == null || !n.isValueNode() || n.isNull()) {
            throw new IllegalArgumentException(key + ": a string or number");
        }
        return n.asText();
    }

    /** A flow as JSON: its fields, counters, and the dump-flows line. */
    public static ObjectNode toTree(FlowStats f) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("table", f.tableId());
        n.put("priority", f.priority());
        n.put("cookie", "0x" + Long.toHexString(f.cookie()));
        n.put("packets", f.packets());
        n.put("bytes", f.bytes());
        n.put("duration", f.durationNanos() / 1e9);
        n.put("idle-timeout", f.idleTimeout());
        n.put("hard-timeout", f.hardTimeout());
        n.put("idle-age", f.idleAgeSeconds());
        ArrayNode flags = n.putArray("flags");
        if ((f.flags() & FlowMod.SEND_FLOW_REM) != 0) {
            flags.add("send_flow_rem");
        }
        if ((f.flags() & FlowMod.CHECK_OVERLAP) != 0) {
            flags.add("check_overlap");
        }
        if ((f.flags() & FlowMod.RESET_COUNTS) != 0) {
            flags.add("reset_counts");
        }
        n.put("match", FlowFormat.match(f.match()));
        n.put("actions", FlowFormat.instructions(f.instructions()));
        n.put("text", FlowFormat.flow(f));
        return n;
    }

    public static ObjectNode toTree(List<FlowStats> flows) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ArrayNode a = root.putArray("flows");
        for (FlowStats f : flows) {
            a.add(toTree(f));
        }
        return root;
    }

    /** The OpenFlow error of a refused flow mod as JSON fields. */
    public static String describe(FlowModResult r) {
        return r.message() + " (OpenFlow error " + r.error().name().toLowerCase(Locale.ROOT) + ", type "
                + r.error().type + " code " + r.error().code + ")";
    }

    static List<String> names(List<Field> fields) {
        List<String> l = new ArrayList<>();
        for (Field f : fields) {
            l.add(f.ofName());
        }
        return l;
    }
}
