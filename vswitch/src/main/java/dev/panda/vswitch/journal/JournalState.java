package dev.panda.vswitch.journal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panda.vswitch.Control;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.capture.CaptureSpec;
import dev.panda.vswitch.capture.CaptureView;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.ConfigFiles;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.control.Json;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FlowMod;
import dev.panda.vswitch.flow.FlowModCodec;
import dev.panda.vswitch.flow.FlowTableState;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything the control journal keeps: the config ({@code config-show}'s form), each bridge's
 * OpenFlow flows (without counters) and the running captures. Immutable; the replay functions of
 * {@link ChangeKinds} map one to the next.
 *
 * <p>A snapshot is {@code {"config": {...}, "flows": {"br0": [flow mod, ...]}, "captures": [spec,
 * ...]}}, each flow as the add that installs it ({@link FlowModCodec}); a snapshot written before
 * flows and captures were journaled is the config alone, and reads as that with no flows and no
 * captures.
 *
 * @param flows    bridge name to its flows; bridges without flows are absent
 * @param captures running captures in the order they started
 */
public record JournalState(VswitchConfig config, Map<String, FlowTableState> flows, List<CaptureSpec> captures) {

    private static final Set<String> SNAPSHOT_KEYS = Set.of("config", "flows", "captures");
    private static final Set<String> CAPTURE_KEYS =
            Set.of("name", "port", "dir", "snaplen", "filter", "roll", "max-bytes", "max-age");

    public JournalState {
        Map<String, FlowTableState> f = new LinkedHashMap<>();
        flows.forEach((b, s) -> {
            if (!s.isEmpty()) {
                f.put(b, s);
            }
        });
        flows = java.util.Collections.unmodifiableMap(f);
        captures = List.copyOf(captures);
    }

    public static JournalState of(VswitchConfig config) {
        return new JournalState(config, Map.of(), List.of());
    }

    /**
     * The running state of {@code c}: its config, every bridge's flows and the captures it runs. A
     * control without flow tables or captures (a test's fake) has none.
     */
    public static JournalState of(Control c) {
        VswitchConfig config = c.config();
        Map<String, FlowTableState> flows = new LinkedHashMap<>();
        for (BridgeConfig b : config.bridges()) {
            BridgeFlows f;
            try {
                f = c.flows(b.name());
            } catch (UnsupportedOperationException | VswitchException e) {
                continue;
            }
            flows.put(b.name(), f.state());
        }
        List<CaptureSpec> captures = new ArrayList<>();
        for (CaptureView v : c.captures()) {
            captures.add(spec(v));
        }
        return new JournalState(config, flows, captures);
    }

    /** What {@code capture start} asked for, from what {@code capture list} shows. */
    public static CaptureSpec spec(CaptureView v) {
        return new CaptureSpec(
                v.name(), v.port(), v.dir(), v.snaplen(), v.filter(), v.roll(), v.maxBytes(), v.maxAge());
    }

    public FlowTableState flowsOf(String bridge) {
        return flows.getOrDefault(bridge, FlowTableState.EMPTY);
    }

    public int flowCount() {
        return flows.values().stream().mapToInt(FlowTableState::size).sum();
    }

    /** Each bridge's flows as the adds that install them (a restart's). */
    public Map<String, List<FlowMod>> flowAdds() {
        Map<String, List<FlowMod>> out = new LinkedHashMap<>();
        flows.forEach((b, s) ->
                out.put(b, s.entries().stream().map(FlowTableState.Entry::toAdd).toList()));
        return out;
    }

    public JournalState withConfig(VswitchConfig c) {
        Map<String, FlowTableState> f = new LinkedHashMap<>(flows);
        // a bridge that is gone takes its flows with it (a bridge of that name added later starts empty)
        f.keySet().removeIf(b -> c.bridges().stream().noneMatch(x -> x.name().equals(b)));
        return new JournalState(c, f, captures);
    }

    public JournalState withFlows(String bridge, FlowTableState s) {
        Map<String, FlowTableState> f = new LinkedHashMap<>(flows);
        f.put(bridge, s);
        return new JournalState(config, f, captures);
    }

    public JournalState withCaptures(List<CaptureSpec> c) {
        return new JournalState(config, flows, c);
    }

    // ---- the snapshot form -------------------------------------------------------------------

    public ObjectNode toTree() {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.set("config", ConfigFiles.toTree(config));
        ObjectNode f = root.putObject("flows");
        flows.forEach((b, s) -> {
            ArrayNode a = f.putArray(b);
            for (FlowTableState.Entry e : s.entries()) {
                a.add(FlowModCodec.encode(e.toAdd()));
            }
        });
        ArrayNode c = root.putArray("captures");
        for (CaptureSpec s : captures) {
            c.add(captureTree(s));
        }
        return root;
    }

    public byte[] toBytes() {
        return ChangeKinds.compact(toTree());
    }

    public static ObjectNode captureTree(CaptureSpec s) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("name", s.name());
        n.put("port", s.port());
        n.put("dir", s.dir());
        n.put("snaplen", s.snaplen());
        if (s.filter() != null) {
            n.put("filter", s.filter());
        }
        n.put("roll", s.roll());
        n.put("max-bytes", s.maxBytes());
        n.put("max-age", s.maxAge());
        return n;
    }

    /**
     * A capture spec from its journal form.
     *
     * @throws IllegalArgumentException a missing or unknown key, a wrong type, a value the spec refuses
     */
    public static CaptureSpec captureFromTree(JsonNode n) {
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("a capture is a JSON object");
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!CAPTURE_KEYS.contains(k)) {
                throw new IllegalArgumentException("capture: unknown key '" + oneWord(k) + "'");
            }
        }
        try {
            return new CaptureSpec(
                    ChangeKinds.text(n, "name"),
                    ChangeKinds.text(n, "port"),
                    optionalText(n, "dir"),
                    (int) number(n, "snaplen", Integer.MAX_VALUE),
                    optionalText(n, "filter"),
                    optionalText(n, "roll"),
                    number(n, "max-bytes", Long.MAX_VALUE),
                    number(n, "max-age", Long.MAX_VALUE));
        } catch (VswitchException e) {
            throw new IllegalArgumentException("capture: " + e.getMessage());
        }
    }

    private static String optionalText(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null) {
            return null;
        }
        if (!v.isTextual()) {
            throw new IllegalArgumentException("capture: " + key + " is not text");
        }
        return v.asText();
    }

    private static long number(JsonNode n, String key, long max) {
        JsonNode v = n.get(key);
        if (v == null) {
            return 0;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 1 || v.asLong() > max) {
            throw new IllegalArgumentException("capture: " + key + " is not an integer 1.." + max);
        }
        return v.asLong();
    }

    /**
     * A snapshot's state.
     *
     * @throws IllegalArgumentException the bytes are not a snapshot (or hold a part that does not fit)
     */
    public static JournalState fromSnapshot(byte[] payload) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(payload);
        } catch (IOException e) {
            throw new IllegalArgumentException("snapshot: not JSON");
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("snapshot: not a JSON object");
        }
        if (!root.has("config")) {
            return of(config(Json.bytes(root))); // written before flows and captures were journaled
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!SNAPSHOT_KEYS.contains(k)) {
                throw new IllegalArgumentException("snapshot: unknown key '" + oneWord(k) + "'");
            }
        }
        VswitchConfig config = config(Json.bytes(root.get("config")));
        Map<String, FlowTableState> flows = new LinkedHashMap<>();
        JsonNode f = root.get("flows");
        if (f != null) {
            if (!f.isObject()) {
                throw new IllegalArgumentException("snapshot: flows is not an object");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = f.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String b = e.getKey();
                if (config.bridges().stream().noneMatch(x -> x.name().equals(b))) {
                    throw new IllegalArgumentException(
                            "snapshot: flows of bridge '" + oneWord(b) + "', not in the config");
                }
                if (!e.getValue().isArray()) {
                    throw new IllegalArgumentException("snapshot: flows of " + b + " is not a list");
                }
                List<FlowTableState.Entry> entries = new ArrayList<>();
                for (JsonNode m : e.getValue()) {
                    FlowMod add = FlowModCodec.decode(m);
                    if (add.command() != FlowMod.Command.ADD) {
                        throw new IllegalArgumentException("snapshot: a flow of " + b + " is not an add");
                    }
                    entries.add(new FlowTableState.Entry(
                            add.tableId(),
                            add.priority(),
                            add.match(),
                            add.instructions(),
                            add.cookie(),
                            add.idleTimeout(),
                            add.hardTimeout(),
                            add.flags()));
                }
                flows.put(b, FlowTableState.of(entries, BridgeFlows.DEFAULT_MAX_FLOWS));
            }
        }
        List<CaptureSpec> captures = new ArrayList<>();
        JsonNode c = root.get("captures");
        if (c != null) {
            if (!c.isArray()) {
                throw new IllegalArgumentException("snapshot: captures is not a list");
            }
            for (JsonNode n : c) {
                CaptureSpec s = captureFromTree(n);
                if (captures.stream().anyMatch(x -> x.name().equals(s.name()))) {
                    throw new IllegalArgumentException("snapshot: capture " + s.name() + " twice");
                }
                captures.add(s);
            }
        }
        return new JournalState(config, flows, captures);
    }

    private static VswitchConfig config(byte[] json) {
        try {
            return ConfigFiles.configFromJson(json);
        } catch (RuntimeException e) { // VswitchException from the config reader
            throw new IllegalArgumentException("snapshot: config: " + Journal.oneLine(e.getMessage()));
        }
    }

    static String oneWord(String s) {
        String t = s.length() > 64 ? s.substring(0, 64) + "..." : s;
        return t.replaceAll("[\\p{Cntrl}]", "?");
    }
}
