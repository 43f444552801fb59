package dev.panda.vswitch.journal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panda.vswitch.capture.CaptureSpec;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.ConfigFiles;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.control.Json;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FlowMod;
import dev.panda.vswitch.flow.FlowModCodec;
import dev.panda.vswitch.flow.FlowTableState;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The kinds of change the journal knows, each with the pure function that replays it on the state
 * (the config-show form, {@link VswitchConfig}). Adding a kind of change is one {@link #register}
 * call plus one {@link Journal#append} where the change is applied; see the vswitch README.
 *
 * <p>A replay function gets the state before and the entry's JSON payload and returns the state
 * after; it throws {@link IllegalArgumentException} (one line) if the payload does not fit the state,
 * which recovery reports as a corrupt entry.
 */
public final class ChangeKinds {

    /** Replays one change of a kind. */
    @FunctionalInterface
    public interface Replay {
        JournalState apply(JournalState state, JsonNode payload);
    }

    /** A change of the config alone (bridges, ports, VLANs, controllers, fail mode). */
    @FunctionalInterface
    public interface ConfigReplay {
        VswitchConfig apply(VswitchConfig state, JsonNode payload);
    }

    public static final String ADD_BRIDGE = "add-br";
    public static final String DEL_BRIDGE = "del-br";
    public static final String ADD_PORT = "add-port";
    public static final String DEL_PORT = "del-port";
    /** The whole running config after {@code ctl apply}, {@code PUT /v1/config} or SIGHUP. */
    public static final String SET_CONFIG = "set-config";
    /** One OpenFlow flow mod on a bridge: {@code {"bridge": B, "mod": FlowModCodec's form}}. */
    public static final String FLOW_MOD = "flow-mod";
    /** Flows an idle or hard timeout removed: {@code {"bridge": B, "flows": [{"table", "priority", "match"}]}}. */
    public static final String FLOW_EXPIRED = "flow-expired";
    /** A capture started: its spec. */
    public static final String CAPTURE_START = "capture-start";
    /** A capture stopped: {@code {"name": N}}. */
    public static final String CAPTURE_STOP = "capture-stop";

    private final Map<String, Replay> kinds = new LinkedHashMap<>();

    /** The kinds every vswitch has: bridges, ports and whole-config applies. */
    public static ChangeKinds standard() {
        ChangeKinds k = new ChangeKinds();
        k.registerConfig(ADD_BRIDGE, (s, p) -> {
            BridgeConfig b = ConfigFiles.bridgeFromJson(bytes(p));
            if (find(s, b.name()) >= 0) {
                throw new IllegalArgumentException("add-br " + b.name() + ": it exists");
            }
            List<BridgeConfig> bridges = new ArrayList<>(s.bridges());
            bridges.add(b);
            return with(s, bridges);
        });
        k.registerConfig(DEL_BRIDGE, (s, p) -> {
            String name = text(p, "bridge");
            int i = existing(s, name);
            List<BridgeConfig> bridges = new ArrayList<>(s.bridges());
            bridges.remove(i);
            return with(s, bridges);
        });
        k.registerConfig(ADD_PORT, (s, p) -> {
            String bridge = text(p, "bridge");
            int i = existing(s, bridge);
            PortConfig port = ConfigFiles.portFromJson(bytes(p.get("port")));
            List<BridgeConfig> bridges = new ArrayList<>(s.bridges());
            List<PortConfig> ports = new ArrayList<>(bridges.get(i).ports());
            ports.add(port);
            bridges.set(i, bridges.get(i).withPorts(ports));
            return with(s, bridges);
        });
        k.registerConfig(DEL_PORT, (s, p) -> {
            String bridge = text(p, "bridge");
            String port = text(p, "port");
            int i = existing(s, bridge);
            List<BridgeConfig> bridges = new ArrayList<>(s.bridges());
            List<PortConfig> ports = new ArrayList<>(bridges.get(i).ports());
            if (!ports.removeIf(x -> x.name().equals(port))) {
                throw new IllegalArgumentException("del-port " + bridge + " " + port + ": no such port");
            }
            bridges.set(i, bridges.get(i).withPorts(ports));
            return with(s, bridges);
        });
        k.registerConfig(SET_CONFIG, (s, p) -> ConfigFiles.configFromJson(bytes(p)));
        k.register(FLOW_MOD, (s, p) -> {
            String bridge = text(p, "bridge");
            existing(s.config(), bridge);
            FlowMod m = FlowModCodec.decode(p.get("mod"));
            return s.withFlows(bridge, s.flowsOf(bridge).apply(m, BridgeFlows.DEFAULT_MAX_FLOWS));
        });
        k.register(FLOW_EXPIRED, (s, p) -> {
            String bridge = text(p, "bridge");
            existing(s.config(), bridge);
            JsonNode flows = p.get("flows");
            if (flows == null || !flows.isArray()) {
                throw new IllegalArgumentException("payload has no list 'flows'");
            }
            FlowTableState t = s.flowsOf(bridge);
            for (JsonNode f : flows) {
                if (!f.isObject()) {
                    throw new IllegalArgumentException("flows: each is an object");
                }
                // a flow that is not there any more is no fault: the timeout and the change that
                // removed it otherwise are both in the journal, in the order they happened
                t = t.without(
                        (int) integer(f, "table", 0, BridgeFlows.TABLES - 1),
                        (int) integer(f, "priority", 0, 0xffff),
                        FlowModCodec.decodeMatch(f.get("match")));
            }
            return s.withFlows(bridge, t);
        });
        k.register(CAPTURE_START, (s, p) -> {
            CaptureSpec spec = JournalState.captureFromTree(p);
            if (s.captures().stream().anyMatch(c -> c.name().equals(spec.name()))) {
                throw new IllegalArgumentException("capture-start " + spec.name() + ": it runs");
            }
            boolean port = s.config().bridges().stream()
                    .flatMap(b -> b.ports().stream())
                    .anyMatch(x -> x.name().equals(spec.port()));
            if (!port) {
                throw new IllegalArgumentException("capture-start " + spec.name() + ": no port " + spec.port());
            }
            List<CaptureSpec> c = new ArrayList<>(s.captures());
            c.add(spec);
            return s.withCaptures(c);
        });
        k.register(CAPTURE_STOP, (s, p) -> {
            String name = text(p, "name");
            List<CaptureSpec> c = new ArrayList<>(s.captures());
            if (!c.removeIf(x -> x.name().equals(name))) {
                throw new IllegalArgumentException("capture-stop " + name + ": no such capture runs");
            }
            return s.withCaptures(c);
        });
        return k;
    }

    /** Adds a kind that changes the config alone (flows of a bridge it removes go with it). */
    public ChangeKinds registerConfig(String kind, ConfigReplay replay) {
        return register(kind, (s, p) -> s.withConfig(replay.apply(s.config(), p)));
    }

    /**
     * Adds a kind.
     *
     * @throws IllegalArgumentException a kind already registered, or a name not 1..64 of [a-z0-9-]
     */
    public ChangeKinds register(String kind, Replay replay) {
        if (!JournalEntry.validKind(kind) || kind.equals(JournalEntry.SNAPSHOT_KIND)) {
            throw new IllegalArgumentException("'" + kind + "' cannot be a change kind");
        }
        if (kinds.putIfAbsent(kind, replay) != null) {
            throw new IllegalArgumentException("change kind " + kind + " is registered twice");
        }
        return this;
    }

    public Set<String> names() {
        return kinds.keySet();
    }

    /**
     * The state after the change.
     *
     * @throws IllegalArgumentException unknown kind, or a payload that does not fit the state
     */
    public VswitchConfig replay(VswitchConfig state, String kind, byte[] payload) {
        return replay(JournalState.of(state), kind, payload).config();
    }

    /**
     * The state after the change.
     *
     * @throws IllegalArgumentException unknown kind, or a payload that does not fit the state
     */
    public JournalState replay(JournalState state, String kind, byte[] payload) {
        Replay r = kinds.get(kind);
        if (r == null) {
            throw new IllegalArgumentException("unknown change kind '" + kind + "'");
        }
        JsonNode tree;
        try {
            tree = Json.MAPPER.readTree(payload);
        } catch (IOException e) {
            throw new IllegalArgumentException(kind + ": payload is not JSON");
        }
        if (tree == null || tree.isMissingNode()) {
            throw new IllegalArgumentException(kind + ": empty payload");
        }
        try {
            return r.apply(state, tree);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) { // VswitchException from the config readers, a null field, ...
            throw new IllegalArgumentException(kind + ": " + e.getMessage(), e);
        }
    }

    // ---- payloads of the standard kinds ----------------------------------------------------

    public static byte[] addBridge(BridgeConfig b) {
        return Json.bytes(ConfigFiles.toTree(b));
    }

    public static byte[] delBridge(String bridge) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("bridge", bridge);
        return Json.bytes(n);
    }

    public static byte[] addPort(String bridge, PortConfig port) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("bridge", bridge);
        n.set("port", ConfigFiles.toTree(port));
        return Json.bytes(n);
    }

    public static byte[] delPort(String bridge, String port) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("bridge", bridge);
        n.put("port", port);
        return Json.bytes(n);
    }

    public static byte[] config(VswitchConfig c) {
        return Json.bytes(ConfigFiles.toTree(c));
    }

    /** One line of JSON, no indentation: the form of the flow and capture payloads and of snapshots. */
    static byte[] compact(com.fasterxml.jackson.databind.JsonNode n) {
        try {
            return COMPACT.writeValueAsBytes(n);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper COMPACT =
            com.fasterxml.jackson.databind.json.JsonMapper.builder().build();

    public static byte[] flowMod(String bridge, FlowMod m) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("bridge", bridge);
        n.set("mod", FlowModCodec.encode(m));
        return compact(n);
    }

    public static byte[] flowExpired(String bridge, List<BridgeFlows.Expired> expired) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("bridge", bridge);
        var a = n.putArray("flows");
        for (BridgeFlows.Expired e : expired) {
            ObjectNode f = a.addObject();
            f.put("table", e.table());
            f.put("priority", e.priority());
            f.set("match", FlowModCodec.encodeMatch(e.match()));
            f.put("reason", e.reason().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
        }
        return compact(n);
    }

    public static byte[] captureStart(CaptureSpec spec) {
        return compact(JournalState.captureTree(spec));
    }

    public static byte[] captureStop(String name) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("name", name);
        return compact(n);
    }

    static long integer(JsonNode p, String field, long min, long max) {
        JsonNode n = p.get(field);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < min || n.asLong() > max) {
            throw new IllegalArgumentException("payload field '" + field + "' is not an integer " + min + ".." + max);
        }
        return n.asLong();
    }

    // ---- helpers for replay functions ----------------------------------------------------

    public static String text(JsonNode payload, String field) {
        JsonNode n = payload.get(field);
        if (n == null || !n.isTextual()) {
            throw new IllegalArgumentException("payload has no text field '" + field + "'");
        }
        return n.asText();
    }

    public static byte[] bytes(JsonNode n) {
        if (n == null) {
            throw new IllegalArgumentException("payload lacks a part");
        }
        return Json.bytes(n);
    }

    public static VswitchConfig with(VswitchConfig s, List<BridgeConfig> bridges) {
        return new VswitchConfig(s.pmd(), bridges, s.metrics());
    }

    static int find(VswitchConfig s, String bridge) {
        for (int i = 0; i < s.bridges().size(); i++) {
            if (s.bridges().get(i).name().equals(bridge)) {
                return i;
            }
        }
        return -1;
    }

    public static int existing(VswitchConfig s, String bridge) {
        int i = find(s, bridge);
        if (i < 0) {
            throw new IllegalArgumentException("no bridge " + bridge);
        }
        return i;
    }
}
