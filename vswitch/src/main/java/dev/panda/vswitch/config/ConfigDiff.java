package dev.panda.vswitch.config;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What separates a running config from a desired one ({@code panda ctl apply}): bridges and ports
 * added, removed or changed, compared by name; the order of bridges and ports does not count.
 * Each change prints as one line:
 *
 * <pre>
 * + bridge br1 mac-aging 300 mac-table-size 8192
 * + port br0 c3 device 'net_af_xdp3,iface=veth3' tag 10
 * - port br0 vm1
 * - bridge br2
 * ~ bridge br0 mac-aging 300 -> 60
 * ~ port br0 c1 tag 10 -> 20
 * ~ port br1 c2 bridge br0 -> br1
 * ~ port br0 c4 device 'net_af_xdp4,iface=a' -> 'net_af_xdp9,iface=b' (reopened)
 * ~ pmd mode rtc -> pipeline
 * </pre>
 *
 * A bridge added or removed lists its ports as {@code +}/{@code -} port lines of their own. In the
 * pmd section an empty desired {@code cores} means "the vswitch picks" and matches whatever runs;
 * {@code stages} and {@code ring-size} are compared only when both sides run the pipeline.
 */
public record ConfigDiff(List<Change> changes) {

    public ConfigDiff {
        changes = List.copyOf(changes);
    }

    /** One line of the difference. */
    public sealed interface Change {
        /** {@code +}, {@code -} or {@code ~}. */
        String op();

        /** {@code bridge}, {@code port} or {@code pmd}. */
        String kind();

        /** The bridge the change is on (the new one for a moved port), or null for pmd. */
        String bridge();

        /** The port's name, or null. */
        String port();

        String line();
    }

    /** A new bridge, without its ports (they follow as {@link PortAdded}). */
    public record BridgeAdded(BridgeConfig config) implements Change {
        public String op() {
            return "+";
        }

        public String kind() {
            return "bridge";
        }

        public String bridge() {
            return config.name();
        }

        public String port() {
            return null;
        }

        public String line() {
            return "+ bridge " + config.name() + " mac-aging " + config.macAging() + " mac-table-size "
                    + config.macTableSize()
                    + (config.failMode().equals(BridgeConfig.DEFAULT_FAIL_MODE)
                            ? ""
                            : " fail-mode " + config.failMode())
                    + (config.controllers().isEmpty() ? "" : " controllers " + config.controllers());
        }
    }

    /** A bridge that goes, after its ports (listed before it as {@link PortRemoved}). */
    public record BridgeRemoved(BridgeConfig config) implements Change {
        public String op() {
            return "-";
        }

        public String kind() {
            return "bridge";
        }

        public String bridge() {
            return config.name();
        }

        public String port() {
            return null;
        }

        public String line() {
            return "- bridge " + config.name();
        }
    }

    /** mac-aging or mac-table-size changed (ports are compared on their own). */
    public record BridgeChanged(BridgeConfig from, BridgeConfig to) implements Change {
        public String op() {
            return "~";
        }

        public String kind() {
            return "bridge";
        }

        public String bridge() {
            return to.name();
        }

        public String port() {
            return null;
        }

        public boolean tableSizeChanged() {
            return from.macTableSize() != to.macTableSize();
        }

        public boolean controllersChanged() {
            return !from.controllers().equals(to.controllers());
        }

        public String line() {
            List<String> parts = new ArrayList<>();
            if (from.macAging() != to.macAging()) {
                parts.add("mac-aging " + from.macAging() + " -> " + to.macAging());
            }
            if (tableSizeChanged()) {
                parts.add("mac-table-size " + from.macTableSize() + " -> " + to.macTableSize() + " (MACs relearned)");
            }
            if (!from.failMode().equals(to.failMode())) {
                parts.add("fail-mode " + from.failMode() + " -> " + to.failMode());
            }
            if (controllersChanged()) {
                parts.add("controllers " + from.controllers() + " -> " + to.controllers());
            }
            return "~ bridge " + to.name() + " " + String.join(", ", parts);
        }
    }

    public record PortAdded(String bridge, PortConfig config) implements Change {
        public String op() {
            return "+";
        }

        public String kind() {
            return "port";
        }

        public String port() {
            return config.name();
        }

        public String line() {
            StringBuilder sb = new StringBuilder("+ port ")
                    .append(bridge)
                    .append(' ')
                    .append(config.name())
                    .append(" device ")
                    .append(ConfigFilesReader.quote(config.device()));
            if (config.tag() != null) {
                sb.append(" tag ").append(config.tag());
            }
            if (!config.trunks().isEmpty()) {
                sb.append(" trunks ").append(list(config.trunks()));
            }
            if (config.nativeVlan() != null) {
                sb.append(" native-vlan ").append(config.nativeVlan());
            }
            if (config.rxFilter() != null) {
                sb.append(" rx-filter ").append(ConfigFilesReader.quote(config.rxFilter()));
            }
            return sb.toString();
        }
    }

    public record PortRemoved(String bridge, PortConfig config) implements Change {
        public String op() {
            return "-";
        }

        public String kind() {
            return "port";
        }

        public String port() {
            return config.name();
        }

        public String line() {
            return "- port " + bridge + " " + config.name();
        }
    }

    /**
     * A port kept by name whose bridge, VLANs, rx filter or device changed. Only a new device
     * string reopens the device; the rest is changed in place (same port id, counters go on).
     */
    public record PortChanged(String fromBridge, String bridge, PortConfig from, PortConfig to) implements Change {
        public String op() {
            return "~";
        }

        public String kind() {
            return "port";
        }

        public String port() {
            return to.name();
        }

        public boolean reopens() {
            return !from.device().equals(to.device());
        }

        public boolean vlanChanged() {
            return !Objects.equals(from.tag(), to.tag())
                    || !sorted(from.trunks()).equals(sorted(to.trunks()))
                    || !Objects.equals(from.nativeVlan(), to.nativeVlan());
        }

        public boolean filterChanged() {
            return !Objects.equals(from.rxFilter(), to.rxFilter());
        }

        public boolean moved() {
            return !fromBridge.equals(bridge);
        }

        public String line() {
            List<String> parts = new ArrayList<>();
            if (moved()) {
                parts.add("bridge " + fromBridge + " -> " + bridge);
            }
            if (reopens()) {
                parts.add("device " + ConfigFilesReader.quote(from.device()) + " -> "
                        + ConfigFilesReader.quote(to.device()) + " (reopened)");
            }
            field(parts, "tag", from.tag(), to.tag());
            if (!sorted(from.trunks()).equals(sorted(to.trunks()))) {
                parts.add("trunks " + list(from.trunks()) + " -> " + list(to.trunks()));
            }
            field(parts, "native-vlan", from.nativeVlan(), to.nativeVlan());
            if (filterChanged()) {
                parts.add("rx-filter " + text(from.rxFilter()) + " -> " + text(to.rxFilter()));
            }
            return "~ port " + bridge + " " + to.name() + " " + String.join(", ", parts);
        }
    }

    /** A pmd setting that differs; the running vswitch cannot change it (see {@link #pmd()}). */
    public record PmdChanged(String field, String from, String to) implements Change {
        public String op() {
            return "~";
        }

        public String kind() {
            return "pmd";
        }

        public String bridge() {
            return null;
        }

        public String port() {
            return null;
        }

        public String line() {
            return "~ pmd " + field + " " + from + " -> " + to;
        }
    }

    /**
     * The metrics listener differs; like the pmd settings it is fixed while the vswitch runs. A
     * desired state without a {@code metrics} block matches whatever runs (as {@code cores: []}).
     */
    public record MetricsChanged(String from, String to) implements Change {
        public String op() {
            return "~";
        }

        public String kind() {
            return "metrics";
        }

        public String bridge() {
            return null;
        }

        public String port() {
            return null;
        }

        public String line() {
            return "~ metrics listen " + from + " -> " + to;
        }
    }

    /**
     * The changes that turn {@code running} into {@code desired}: pmd first, then removals (ports
     * before their bridge), additions (a bridge before its ports), then changes in place.
     */
    public static ConfigDiff between(VswitchConfig running, VswitchConfig desired) {
        List<Change> out = new ArrayList<>(pmdChanges(running.pmd(), desired.pmd()));
        if (desired.metrics().enabled()
                && !Objects.equals(desired.metrics().listen(), running.metrics().listen())) {
            out.add(new MetricsChanged(
                    running.metrics().enabled() ? running.metrics().listen() : "none",
                    desired.metrics().listen()));
        }
        Map<String, BridgeConfig> oldBridges = byName(running.bridges());
        Map<String, BridgeConfig> newBridges = byName(desired.bridges());
        Map<String, String> oldPortBridge = new LinkedHashMap<>();
        Map<String, PortConfig> oldPorts = new LinkedHashMap<>();
        for (BridgeConfig b : running.bridges()) {
            for (PortConfig p : b.ports()) {
                oldPortBridge.put(p.name(), b.name());
                oldPorts.put(p.name(), p);
            }
        }
        Map<String, PortConfig> newPorts = new LinkedHashMap<>();
        for (BridgeConfig b : desired.bridges()) {
            for (PortConfig p : b.ports()) {
                newPorts.put(p.name(), p);
            }
        }
        List<Change> added = new ArrayList<>();
        List<Change> changed = new ArrayList<>();
        for (BridgeConfig b : running.bridges()) {
            for (PortConfig p : b.ports()) {
                if (!newPorts.containsKey(p.name())) {
                    out.add(new PortRemoved(b.name(), p));
                }
            }
        }
        for (BridgeConfig b : running.bridges()) {
            if (!newBridges.containsKey(b.name())) {
                out.add(new BridgeRemoved(b));
            }
        }
        for (BridgeConfig b : desired.bridges()) {
            BridgeConfig old = oldBridges.get(b.name());
            if (old == null) {
                added.add(new BridgeAdded(b.withPorts(List.of())));
            } else if (old.macAging() != b.macAging()
                    || old.macTableSize() != b.macTableSize()
                    || !old.failMode().equals(b.failMode())
                    || !old.controllers().equals(b.controllers())) {
                changed.add(new BridgeChanged(old.withPorts(List.of()), b.withPorts(List.of())));
            }
            for (PortConfig p : b.ports()) {
                PortConfig was = oldPorts.get(p.name());
                if (was == null) {
                    added.add(new PortAdded(b.name(), p));
                } else if (!same(was, p) || !oldPortBridge.get(p.name()).equals(b.name())) {
                    changed.add(new PortChanged(oldPortBridge.get(p.name()), b.name(), was, p));
                }
            }
        }
        out.addAll(added);
        out.addAll(changed);
        return new ConfigDiff(out);
    }

    private static List<Change> pmdChanges(PmdConfig running, PmdConfig desired) {
        List<Change> out = new ArrayList<>();
        if (!desired.cores().isEmpty() && !sorted(desired.cores()).equals(sorted(running.cores()))) {
            out.add(new PmdChanged("cores", list(running.cores()), list(desired.cores())));
        }
        if (desired.mode() != running.mode()) {
            out.add(new PmdChanged(
                    "mode", running.mode().label(), desired.mode().label()));
        }
        if (!desired.idle().equals(running.idle())) {
            out.add(new PmdChanged("idle", running.idle(), desired.idle()));
        }
        if (desired.burst() != running.burst()) {
            out.add(new PmdChanged("burst", "" + running.burst(), "" + desired.burst()));
        }
        if (desired.mode() != PmdConfig.Mode.PIPELINE || running.mode() != PmdConfig.Mode.PIPELINE) {
            return out; // stages and ring-size mean nothing to run-to-completion pollers
        }
        if (!Objects.equals(desired.stages().classify(), running.stages().classify())) {
            out.add(new PmdChanged(
                    "stages.classify",
                    text(running.stages().classify()),
                    text(desired.stages().classify())));
        }
        if (!Objects.equals(desired.stages().tx(), running.stages().tx())) {
            out.add(new PmdChanged(
                    "stages.tx",
                    text(running.stages().tx()),
                    text(desired.stages().tx())));
        }
        if (desired.ringSize() != running.ringSize()) {
            out.add(new PmdChanged("ring-size", "" + running.ringSize(), "" + desired.ringSize()));
        }
        return out;
    }

    public boolean isEmpty() {
        return changes.isEmpty();
    }

    /** The changes of one type, in order. */
    public <T extends Change> List<T> of(Class<T> type) {
        return changes.stream().filter(type::isInstance).map(type::cast).toList();
    }

    /** The pmd settings that differ (a running vswitch refuses them). */
    public List<PmdChanged> pmd() {
        return of(PmdChanged.class);
    }

    /** One line per change, each ending in a newline; empty when nothing differs. */
    public String text() {
        StringBuilder sb = new StringBuilder();
        for (Change c : changes) {
            sb.append(c.line()).append('\n');
        }
        return sb.toString();
    }

    /** {@code {"dry-run": b, "applied": b, "changes": [{"op", "kind", "bridge", "port", "line"}]}}. */
    public ObjectNode toTree(boolean dryRun, boolean applied) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("dry-run", dryRun);
        root.put("applied", applied);
        ArrayNode a = root.putArray("changes");
        for (Change c : changes) {
            ObjectNode n = a.addObject();
            n.put("op", c.op());
            n.put("kind", c.kind());
            n.put("bridge", c.bridge());
            n.put("port", c.port());
            n.put("line", c.line());
        }
        return root;
    }

    /** {@code 3 changes: +1 port, -1 port, ~1 port} or {@code no changes}. */
    public String summary() {
        if (changes.isEmpty()) {
            return "no changes";
        }
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (Change c : changes) {
            counts.merge(c.op() + "%d " + c.kind(), 1, Integer::sum);
        }
        List<String> parts = new ArrayList<>();
        counts.forEach((k, n) -> parts.add(k.formatted(n)));
        return changes.size() + (changes.size() == 1 ? " change: " : " changes: ") + String.join(", ", parts);
    }

    /** Equal but for the order of trunks. */
    private static boolean same(PortConfig a, PortConfig b) {
        return a.name().equals(b.name())
                && a.device().equals(b.device())
                && Objects.equals(a.tag(), b.tag())
                && sorted(a.trunks()).equals(sorted(b.trunks()))
                && Objects.equals(a.nativeVlan(), b.nativeVlan())
                && Objects.equals(a.rxFilter(), b.rxFilter());
    }

    private static List<Integer> sorted(List<Integer> l) {
        return l.stream().sorted().distinct().toList();
    }

    private static Map<String, BridgeConfig> byName(List<BridgeConfig> bridges) {
        Map<String, BridgeConfig> m = new LinkedHashMap<>();
        for (BridgeConfig b : bridges) {
            m.put(b.name(), b);
        }
        return m;
    }

    private static void field(List<String> parts, String name, Integer from, Integer to) {
        if (!Objects.equals(from, to)) {
            parts.add(name + " " + text(from) + " -> " + text(to));
        }
    }

    private static String text(Object v) {
        return v == null ? "none" : v instanceof String s ? ConfigFilesReader.quote(s) : v.toString();
    }

    private static String list(List<Integer> l) {
        if (l.isEmpty()) {
            return "none";
        }
        return String.join(",", l.stream().map(String::valueOf).toList());
    }
}
