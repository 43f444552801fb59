package dev.panda.vswitch.journal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.ConfigFiles;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.control.Json;
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
        VswitchConfig apply(VswitchConfig state, JsonNode payload);
    }

    public static final String ADD_BRIDGE = "add-br";
    public static final String DEL_BRIDGE = "del-br";
    public static final String ADD_PORT = "add-port";
    public static final String DEL_PORT = "del-port";
    /** The whole running config after {@code ctl apply}, {@code PUT /v1/config} or SIGHUP. */
    public static final String SET_CONFIG = "set-config";

    private final Map<String, Replay> kinds = new LinkedHashMap<>();

    /** The kinds every vswitch has: bridges, ports and whole-config applies. */
    public static ChangeKinds standard() {
        ChangeKinds k = new ChangeKinds();
        k.register(ADD_BRIDGE, (s, p) -> {
            BridgeConfig b = ConfigFiles.bridgeFromJson(bytes(p));
            if (find(s, b.name()) >= 0) {
                throw new IllegalArgumentException("add-br " + b.name() + ": it exists");
            }
            List<BridgeConfig> bridges = new ArrayList<>(s.bridges());
            bridges.add(b);
            return with(s, bridges);
        });
        k.register(DEL_BRIDGE, (s, p) -> {
            String name = text(p, "bridge");
            int i = existing(s, name);
            List<BridgeConfig> bridges = new ArrayList<>(s.bridges());
            bridges.remove(i);
            return with(s, bridges);
        });
        k.register(ADD_PORT, (s, p) -> {
            String bridge = text(p, "bridge");
            int i = existing(s, bridge);
            PortConfig port = ConfigFiles.portFromJson(bytes(p.get("port")));
            List<BridgeConfig> bridges = new ArrayList<>(s.bridges());
            List<PortConfig> ports = new ArrayList<>(bridges.get(i).ports());
            ports.add(port);
            bridges.set(i, bridges.get(i).withPorts(ports));
            return with(s, bridges);
        });
        k.register(DEL_PORT, (s, p) -> {
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
        k.register(SET_CONFIG, (s, p) -> ConfigFiles.configFromJson(bytes(p)));
        return k;
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
