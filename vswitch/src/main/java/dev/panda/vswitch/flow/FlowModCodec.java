package dev.panda.vswitch.flow;

import com.fasterxml.jackson.databind.JsonNode;
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
 * A {@link FlowMod} as compact, lossless JSON: what the control journal stores for a flow change
 * (and, as adds, for each flow of a snapshot). Unlike the ovs-ofctl text ({@link FlowText},
 * {@link FlowFormat}) it keeps every bit: masks of any shape, 128-bit values, every flag, the
 * cookie mask, out_port and out_group. Keys left out have their default (cookie 0, no timeouts, no
 * flags, out_port/out_group ANY, no match field, no instruction):
 *
 * <pre>
 * {"command": "add", "table": 0, "priority": 100, "cookie": "1f", "cookie-mask": "ff",
 *  "idle-timeout": 10, "hard-timeout": 0, "flags": 1, "out-port": "2", "out-group": "ffffffff",
 *  "match": {"eth_type": ["800", "ffff"], "ipv6_dst": ["1", "ffffffffffffffff", "fd00000000000000", "ffffffffffffffff"]},
 *  "instructions": [{"apply": [{"output": "2", "max-len": 65535}, {"push-vlan": 33024}, {"pop-vlan": true},
 *                              {"set-field": "eth_src", "value": "20000000001"}]},
 *                   {"clear": true}, {"write": [...]}, {"goto": 3}]}
 * </pre>
 *
 * 64-bit quantities are unsigned hexadecimal strings without {@code 0x}; a match field is
 * {@code [value, mask]} or, for 128-bit fields, {@code [value-lo, mask-lo, value-hi, mask-hi]}. The
 * decoder takes untrusted bytes: every fault is an {@link IllegalArgumentException} naming the key;
 * whether the flow mod makes sense is {@link BridgeFlows#check}'s business, not the codec's.
 */
public final class FlowModCodec {

    private static final Set<String> KEYS = Set.of(
            "command",
            "table",
            "priority",
            "cookie",
            "cookie-mask",
            "idle-timeout",
            "hard-timeout",
            "flags",
            "out-port",
            "out-group",
            "match",
            "instructions");

    /** Most instructions and actions decoded (more is refused: the flow tables allow fewer). */
    static final int MAX_ITEMS = 64;

    private FlowModCodec() {}

    public static String commandName(FlowMod.Command c) {
        return c.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static ObjectNode encode(FlowMod m) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode n = f.objectNode();
        n.put("command", commandName(m.command()));
        n.put("table", m.tableId());
        n.put("priority", m.priority());
        if (m.cookie() != 0) {
            n.put("cookie", hex(m.cookie()));
        }
        if (m.cookieMask() != 0) {
            n.put("cookie-mask", hex(m.cookieMask()));
        }
        if (m.idleTimeout() != 0) {
            n.put("idle-timeout", m.idleTimeout());
        }
        if (m.hardTimeout() != 0) {
            n.put("hard-timeout", m.hardTimeout());
        }
        if (m.flags() != 0) {
            n.put("flags", m.flags());
        }
        if (m.outPort() != OfPort.ANY) {
            n.put("out-port", hex(Integer.toUnsignedLong(m.outPort())));
        }
        if (m.outGroup() != OfPort.GROUP_ANY) {
            n.put("out-group", hex(Integer.toUnsignedLong(m.outGroup())));
        }
        if (!m.match().isEmpty()) {
            n.set("match", encodeMatch(m.match()));
        }
        if (!m.instructions().isEmpty()) {
            ArrayNode ins = n.putArray("instructions");
            for (Instruction i : m.instructions()) {
                ObjectNode o = ins.addObject();
                switch (i) {
                    case Instruction.ApplyActions a -> o.set("apply", encodeActions(a.actions()));
                    case Instruction.WriteActions w -> o.set("write", encodeActions(w.actions()));
                    case Instruction.ClearActions c -> o.put("clear", true);
                    case Instruction.GotoTable g -> o.put("goto", g.tableId());
                }
            }
        }
        return n;
    }

    public static ObjectNode encodeMatch(Match match) {
        ObjectNode m = JsonNodeFactory.instance.objectNode();
        for (Map.Entry<Field, Masked> e : match.fields().entrySet()) {
            Masked v = e.getValue();
            ArrayNode a = m.putArray(e.getKey().ofName());
            a.add(hex(v.value())).add(hex(v.mask()));
            if (e.getKey().bits > 64) {
                a.add(hex(v.valueHi())).add(hex(v.maskHi()));
            }
        }
        return m;
    }

    private static ArrayNode encodeActions(List<Action> actions) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        for (Action x : actions) {
            ObjectNode o = a.addObject();
            switch (x) {
                case Action.Output out -> {
                    o.put("output", hex(Integer.toUnsignedLong(out.port())));
                    o.put("max-len", out.maxLen());
                }
                case Action.PushVlan p -> o.put("push-vlan", p.ethertype());
                case Action.PopVlan p -> o.put("pop-vlan", true);
                case Action.SetField s -> {
                    o.put("set-field", s.field().ofName());
                    o.put("value", hex(s.value()));
                }
            }
        }
        return a;
    }

    // ---- decoding (untrusted) -------------------------------------------------------------------

    /**
     * The flow mod {@code n} holds.
     *
     * @throws IllegalArgumentException naming the key that is missing, unknown or malformed
     */
    public static FlowMod decode(JsonNode n) {
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("a flow mod is a JSON object");
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYS.contains(k)) {
                throw new IllegalArgumentException("flow mod: unknown key '" + FlowText.shorten(k) + "'");
            }
        }
        JsonNode c = n.get("command");
        if (c == null || !c.isTextual()) {
            throw new IllegalArgumentException("flow mod: no command");
        }
        FlowMod.Command command = null;
        for (FlowMod.Command x : FlowMod.Command.values()) {
            if (commandName(x).equals(c.asText())) {
                command = x;
            }
        }
        if (command == null) {
            throw new IllegalArgumentException("flow mod: command '" + FlowText.shorten(c.asText()) + "' is unknown");
        }
        int table = (int) integer(n, "table", 0, 255, -1);
        if (table < 0) {
            throw new IllegalArgumentException("flow mod: no table");
        }
        int priority = (int) integer(n, "priority", 0, 0xffff, FlowMod.DEFAULT_PRIORITY);
        long cookie = hexField(n, "cookie", 0);
        long cookieMask = hexField(n, "cookie-mask", 0);
        int idle = (int) integer(n, "idle-timeout", 0, 0xffff, 0);
        int hard = (int) integer(n, "hard-timeout", 0, 0xffff, 0);
        int flags = (int) integer(n, "flags", 0, 0xffff, 0);
        int outPort = (int) unsigned32(n, "out-port", Integer.toUnsignedLong(OfPort.ANY));
        int outGroup = (int) unsigned32(n, "out-group", Integer.toUnsignedLong(OfPort.GROUP_ANY));
        Match match = n.has("match") ? decodeMatch(n.get("match")) : Match.ANY;
        List<Instruction> ins = new ArrayList<>();
        if (n.has("instructions")) {
            JsonNode a = n.get("instructions");
            if (!a.isArray() || a.size() > MAX_ITEMS) {
                throw new IllegalArgumentException("instructions: a list of at most " + MAX_ITEMS);
            }
            for (JsonNode i : a) {
                ins.add(instruction(i));
            }
        }
        return new FlowMod(
                command, table, priority, match, ins, cookie, cookieMask, idle, hard, flags, outPort, outGroup);
    }

    public static Match decodeMatch(JsonNode m) {
        if (m == null || !m.isObject()) {
            throw new IllegalArgumentException("match: an object of field: [value, mask]");
        }
        Match.Builder b = Match.builder();
        for (Iterator<Map.Entry<String, JsonNode>> it = m.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            Field f = field(e.getKey());
            JsonNode v = e.getValue();
            int want = f.bits > 64 ? 4 : 2;
            if (!v.isArray() || v.size() != want) {
                throw new IllegalArgumentException("match." + f.ofName() + ": a list of " + want + " hex strings");
            }
            String at = "match." + f.ofName();
            long value = hex(at, v.get(0));
            long mask = hex(at, v.get(1));
            long valueHi = want == 4 ? hex(at, v.get(2)) : 0;
            long maskHi = want == 4 ? hex(at, v.get(3)) : 0;
            b.set(f, new Masked(value, mask, valueHi, maskHi));
        }
        return b.build();
    }

    private static Instruction instruction(JsonNode i) {
        if (i == null || !i.isObject() || i.size() != 1) {
            throw new IllegalArgumentException("instructions: each is an object with one key");
        }
        String k = i.fieldNames().next();
        JsonNode v = i.get(k);
        return switch (k) {
            case "apply" -> new Instruction.ApplyActions(actions("apply", v));
            case "write" -> new Instruction.WriteActions(actions("write", v));
            case "clear" -> {
                if (!v.isBoolean() || !v.asBoolean()) {
                    throw new IllegalArgumentException("instructions: clear is true");
                }
                yield new Instruction.ClearActions();
            }
            case "goto" -> {
                if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0 || v.asInt() > 255) {
                    throw new IllegalArgumentException("instructions: goto is a table 0..255");
                }
                yield new Instruction.GotoTable(v.asInt());
            }
            default -> throw new IllegalArgumentException("instructions: unknown '" + FlowText.shorten(k) + "'");
        };
    }

    private static List<Action> actions(String where, JsonNode v) {
        if (!v.isArray() || v.size() > MAX_ITEMS) {
            throw new IllegalArgumentException("instructions." + where + ": a list of at most " + MAX_ITEMS);
        }
        List<Action> out = new ArrayList<>();
        for (JsonNode a : v) {
            if (a == null || !a.isObject()) {
                throw new IllegalArgumentException("instructions." + where + ": each action is an object");
            }
            if (a.has("output")) {
                only(a, where, "output", "max-len");
                int port = (int) unsigned32(a, "output", 0);
                int maxLen = (int) integer(a, "max-len", 0, 0xffff, OfPort.NO_BUFFER);
                out.add(new Action.Output(port, maxLen));
            } else if (a.has("push-vlan")) {
                only(a, where, "push-vlan");
                out.add(new Action.PushVlan((int) integer(a, "push-vlan", 0, 0xffff, 0)));
            } else if (a.has("pop-vlan")) {
                only(a, where, "pop-vlan");
                if (!a.get("pop-vlan").isBoolean() || !a.get("pop-vlan").asBoolean()) {
                    throw new IllegalArgumentException("instructions." + where + ": pop-vlan is true");
                }
                out.add(new Action.PopVlan());
            } else if (a.has("set-field")) {
                only(a, where, "set-field", "value");
                JsonNode name = a.get("set-field");
                if (!name.isTextual()) {
                    throw new IllegalArgumentException("instructions." + where + ": set-field names a field");
                }
                Field f = field(name.asText());
                out.add(new Action.SetField(f, hex("instructions." + where + ".value", a.get("value"))));
            } else {
                throw new IllegalArgumentException("instructions." + where + ": an unknown action");
            }
        }
        return out;
    }

    private static void only(JsonNode a, String where, String... keys) {
        Set<String> allowed = Set.of(keys);
        for (Iterator<String> it = a.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!allowed.contains(k)) {
                throw new IllegalArgumentException(
                        "instructions." + where + ": '" + FlowText.shorten(k) + "' does not belong in " + keys[0]);
            }
        }
    }

    private static Field field(String name) {
        for (Field f : Field.values()) {
            if (f.ofName().equals(name)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown match field '" + FlowText.shorten(name) + "'");
    }

    private static long integer(JsonNode n, String key, long min, long max, long dflt) {
        JsonNode v = n.get(key);
        if (v == null) {
            return dflt;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
            throw new IllegalArgumentException(key + ": an integer " + min + ".." + max);
        }
        return v.asLong();
    }

    private static long hexField(JsonNode n, String key, long dflt) {
        JsonNode v = n.get(key);
        return v == null ? dflt : hex(key, v);
    }

    private static long unsigned32(JsonNode n, String key, long dflt) {
        JsonNode v = n.get(key);
        if (v == null) {
            return dflt;
        }
        long x = hex(key, v);
        if ((x & ~0xffff_ffffL) != 0) {
            throw new IllegalArgumentException(key + ": more than 32 bits");
        }
        return x;
    }

    private static long hex(String key, JsonNode v) {
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException(key + ": a hex string");
        }
        String s = v.asText();
        if (s.isEmpty() || s.length() > 16) {
            throw new IllegalArgumentException(key + ": 1..16 hex digits");
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                throw new IllegalArgumentException(key + ": '" + FlowText.shorten(s) + "' is not lower-case hex");
            }
        }
        return Long.parseUnsignedLong(s, 16);
    }

    private static String hex(long v) {
        return Long.toHexString(v);
    }
}
