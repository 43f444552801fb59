package dev.panda.vswitch.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.panda.vswitch.VswitchException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Binds the config schema from a Jackson token stream (YAML for the file, JSON for control
 * request bodies), checking each value where it stands so a refusal names the field and its line:
 * {@code vswitch.yaml:7: bridges[0].ports[1].tag: 5000 is not a VLAN (1..4094)}.
 *
 * <p>Keys are kebab-case; an unknown or repeated key, a value of the wrong type or out of range
 * is refused with a {@link VswitchException} (400). Absent keys take the records' defaults.
 */
final class ConfigFilesReader {

    static final int MAX_CPU = 1023;
    static final int MAX_RING_SIZE = 1 << 20;
    static final int MAX_MAC_TABLE_SIZE = 1 << 24;
    static final int MAX_DEVICE_LENGTH = 4096;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    private static final Set<String> ROOT_KEYS = ordered("pmd", "bridges", "metrics", "state-dir");
    private static final Set<String> METRICS_KEYS = ordered("listen");
    private static final Set<String> PMD_KEYS = ordered("cores", "mode", "idle", "stages", "ring-size", "burst");
    private static final Set<String> STAGE_KEYS = ordered("classify", "tx");
    private static final Set<String> BRIDGE_KEYS =
            ordered("name", "mac-aging", "mac-table-size", "fail-mode", "ports", "controllers");
    private static final Set<String> PORT_KEYS =
            ordered("name", "device", "tag", "trunks", "native-vlan", "rx-filter", "vxlan");
    private static final Set<String> VXLAN_KEYS = ordered("vni", "local", "remote", "underlay");

    private final JsonParser p;
    private final String source;
    /** Every bridge, port and device name seen so far (ports and devices: with where). */
    private final Set<String> bridgeNames = new HashSet<>();

    private final Map<String, String> portNames = new HashMap<>();
    private final Map<String, String> deviceNames = new HashMap<>();

    /**
     * @param source the file name for messages ({@code vswitch.yaml:7: ...}), or null for a
     *     request body (messages then name only the field)
     */
    ConfigFilesReader(JsonParser p, String source) {
        this.p = p;
        this.source = source;
    }

    VswitchConfig readConfig() throws IOException {
        if (p.nextToken() == null) {
            return VswitchConfig.empty();
        }
        PmdConfig[] pmd = {null};
        MetricsConfig[] metrics = {null};
        String[] stateDir = {null};
        List<BridgeConfig> bridges = new ArrayList<>();
        readObject("", ROOT_KEYS, (key, path) -> {
            switch (key) {
                case "pmd" -> pmd[0] = readPmd(path);
                case "bridges" -> readList(path, i -> bridges.add(readBridge(path + "[" + i + "]")));
                case "metrics" -> metrics[0] = readMetrics(path);
                case "state-dir" -> stateDir[0] = readText(path, 4096);
                default -> throw new IllegalStateException(key);
            }
        });
        end();
        return new VswitchConfig(pmd[0], bridges, metrics[0], stateDir[0]);
    }

    /** One bridge as the whole document (a control request body). */
    BridgeConfig readBridgeDocument() throws IOException {
        if (p.nextToken() == null) {
            throw fail("", "empty body: expected a bridge, e.g. {\"name\": \"br0\"}");
        }
        BridgeConfig b = readBridge("");
        end();
        return b;
    }

    /** One port as the whole document (a control request body). */
    PortConfig readPortDocument() throws IOException {
        if (p.nextToken() == null) {
            throw fail("", "empty body: expected a port, e.g. {\"name\": \"vm1\", \"device\": \"net_ring0\"}");
        }
        PortConfig port = readPort("");
        end();
        return port;
    }

    private void end() throws IOException {
        if (p.nextToken() != null) {
            throw fail("", "more than one document");
        }
    }

    private PmdConfig readPmd(String at) throws IOException {
        List<Integer> cores = new ArrayList<>();
        PmdConfig.Mode[] mode = {null};
        String[] idle = {null};
        Integer[] stages = {null, null};
        int[] ring = {PmdConfig.DEFAULT_RING_SIZE};
        int[] burst = {PmdConfig.DEFAULT_BURST};
        readObject(at, PMD_KEYS, (key, path) -> {
            switch (key) {
                case "cores" -> cores.addAll(readCpus(path));
                case "mode" -> {
                    String m = readString(path);
                    if (!m.equals("rtc") && !m.equals("pipeline")) {
                        throw fail(path, quote(m) + " is not a mode (rtc or pipeline)");
                    }
                    mode[0] = PmdConfig.Mode.parse(m);
                }
                case "idle" -> {
                    String i = readString(path);
                    if (!i.equals("spin") && !i.equals("yield") && !i.equals("park")) {
                        throw fail(path, quote(i) + " is not an idle strategy (spin, yield or park)");
                    }
                    idle[0] = i;
                }
                case "stages" ->
                    readObject(path, STAGE_KEYS, (k, sp) -> {
                        Integer cpu = readOptionalInt(sp);
                        if (cpu != null && (cpu < 0 || cpu > MAX_CPU)) {
                            throw fail(sp, cpu + " is not a CPU (0.." + MAX_CPU + ")");
                        }
                        stages[k.equals("classify") ? 0 : 1] = cpu;
                    });
                case "ring-size" -> {
                    int r = readInt(path);
                    if (r < 1 || r > MAX_RING_SIZE || Integer.bitCount(r) != 1) {
                        throw fail(path, r + " is not a power of two (1.." + MAX_RING_SIZE + ")");
                    }
                    ring[0] = r;
                }
                case "burst" -> {
                    int b = readInt(path);
                    if (b < 1 || b > PmdConfig.MAX_BURST) {
                        throw fail(path, b + " is not a burst size (1.." + PmdConfig.MAX_BURST + ")");
                    }
                    burst[0] = b;
                }
                default -> throw new IllegalStateException(key);
            }
        });
        return new PmdConfig(cores, mode[0], idle[0], new PmdConfig.Stages(stages[0], stages[1]), ring[0], burst[0]);
    }

    private MetricsConfig readMetrics(String at) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return MetricsConfig.off();
        }
        String[] listen = {null};
        readObject(at, METRICS_KEYS, (key, path) -> {
            if (p.currentToken() == JsonToken.VALUE_NULL) {
                return;
            }
            String text = readString(path);
            try {
                MetricsConfig.parseListen(text);
            } catch (IllegalArgumentException e) {
                throw fail(path, e.getMessage());
            }
            listen[0] = text;
        });
        return new MetricsConfig(listen[0]);
    }

    private List<Integer> readCpus(String path) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_STRING) {
            String text = p.getText();
            try {
                return ConfigFiles.parseCpuList(text);
            } catch (IllegalArgumentException e) {
                throw fail(path, e.getMessage());
            }
        }
        List<Integer> cpus = new ArrayList<>();
        readList(path, i -> {
            String ep = path + "[" + i + "]";
            int cpu = readInt(ep);
            if (cpu < 0 || cpu > MAX_CPU) {
                throw fail(ep, cpu + " is not a CPU (0.." + MAX_CPU + ")");
            }
            if (cpus.contains(cpu)) {
                throw fail(ep, "CPU " + cpu + " is listed twice");
            }
            cpus.add(cpu);
        });
        return cpus;
    }

    private BridgeConfig readBridge(String at) throws IOException {
        int line = line();
        String[] name = {null};
        int[] aging = {BridgeConfig.DEFAULT_MAC_AGING};
        int[] size = {BridgeConfig.DEFAULT_MAC_TABLE_SIZE};
        List<PortConfig> ports = new ArrayList<>();
        List<String> controllers = new ArrayList<>();
        String[] failMode = {BridgeConfig.DEFAULT_FAIL_MODE};
        readObject(at, BRIDGE_KEYS, (key, path) -> {
            switch (key) {
                case "name" -> {
                    name[0] = readName(path);
                    if (!bridgeNames.add(name[0])) {
                        throw fail(path, "bridge " + name[0] + " is defined twice");
                    }
                }
                case "mac-aging" -> aging[0] = readPositive(path, Integer.MAX_VALUE);
                case "mac-table-size" -> size[0] = readPositive(path, MAX_MAC_TABLE_SIZE);
                case "fail-mode" -> {
                    String m = readString(path);
                    if (!m.equals("secure") && !m.equals("standalone")) {
                        throw fail(path, quote(m) + " is not a fail mode (secure or standalone)");
                    }
                    failMode[0] = m;
                }
                case "ports" -> readList(path, i -> ports.add(readPort(path + "[" + i + "]")));
                case "controllers" ->
                    readList(path, i -> {
                        String ep = path + "[" + i + "]";
                        String t = readText(ep, 300);
                        String canonical;
                        try {
                            canonical = dev.panda.vswitch.openflow.ControllerTarget.parse(t)
                                    .toString();
                        } catch (IllegalArgumentException e) {
                            throw fail(ep, e.getMessage());
                        }
                        if (controllers.contains(canonical)) {
                            throw fail(ep, "controller " + canonical + " is listed twice");
                        }
                        controllers.add(canonical);
                    });
                default -> throw new IllegalStateException(key);
            }
        });
        if (name[0] == null) {
            throw fail(at, line, "a bridge needs a name");
        }
        return new BridgeConfig(name[0], aging[0], size[0], ports, failMode[0], controllers);
    }

    private PortConfig readPort(String at) throws IOException {
        int line = line();
        String[] text = {null, null, null}; // name, device, rx-filter
        Integer[] vlan = {null, null}; // tag, native-vlan
        int[] vlanLine = {0, 0};
        List<Integer> trunks = new ArrayList<>();
        VxlanConfig[] vxlan = {null};
        readObject(at, PORT_KEYS, (key, path) -> {
            switch (key) {
                case "name" -> {
                    String n = readName(path);
                    String other = portNames.putIfAbsent(n, path);
                    if (other != null) {
                        throw fail(path, "port " + n + " is defined twice");
                    }
                    text[0] = n;
                }
                case "device" -> {
                    String d = readText(path, MAX_DEVICE_LENGTH);
                    String dev = deviceName(d);
                    String other = deviceNames.putIfAbsent(dev, path);
                    if (other != null) {
                        throw fail(path, "device " + dev + " is already used at " + other.replace(UNDERLAY, ""));
                    }
                    text[1] = d;
                }
                case "tag", "native-vlan" -> {
                    int i = key.equals("tag") ? 0 : 1;
                    vlanLine[i] = line();
                    vlan[i] = readOptionalInt(path);
                    if (vlan[i] != null) {
                        checkVlan(path, vlan[i]);
                    }
                }
                case "trunks" ->
                    readList(path, i -> {
                        String ep = path + "[" + i + "]";
                        int v = readInt(ep);
                        checkVlan(ep, v);
                        if (trunks.contains(v)) {
                            throw fail(ep, "VLAN " + v + " is listed twice");
                        }
                        trunks.add(v);
                    });
                case "rx-filter" -> text[2] = p.currentToken() == JsonToken.VALUE_NULL ? null : readText(path, 4096);
                case "vxlan" -> vxlan[0] = readVxlan(path);
                default -> throw new IllegalStateException(key);
            }
        });
        if (text[0] == null) {
            throw fail(at, line, "a port needs a name");
        }
        if (vxlan[0] != null) {
            if (text[1] != null) {
                throw fail(join(at, "device"), line, "a vxlan port has no device (its underlay is in vxlan)");
            }
            String tunnel = "vxlan " + vxlan[0].vni() + " to " + vxlan[0].remote();
            String other = deviceNames.putIfAbsent(tunnel, join(at, "vxlan"));
            if (other != null) {
                throw fail(join(at, "vxlan"), line, tunnel + " is already used at " + other);
            }
            String underlay = vxlan[0].underlayName();
            String user = deviceNames.putIfAbsent(underlay, UNDERLAY + join(at, "vxlan.underlay"));
            if (user != null && !user.startsWith(UNDERLAY)) {
                throw fail(join(at, "vxlan.underlay"), line, "device " + underlay + " is already used at " + user);
            }
            return new PortConfig(text[0], null, vlan[0], trunks, vlan[1], text[2], vxlan[0]);
        }
        if (text[1] == null) {
            throw fail(at, line, "port " + text[0] + " needs a device");
        }
        if (vlan[0] != null && !trunks.isEmpty()) {
            throw fail(join(at, "tag"), vlanLine[0], "an access port (tag) carries no trunks; give tag or trunks");
        }
        if (vlan[0] != null && vlan[1] != null) {
            throw fail(join(at, "native-vlan"), vlanLine[1], "an access port (tag) has no native VLAN");
        }
        return new PortConfig(text[0], text[1], vlan[0], trunks, vlan[1], text[2]);
    }

    /** Marks a device name taken as a tunnel's underlay (several tunnels may share it). */
    private static final String UNDERLAY = "\0underlay ";

    /** A port's {@code vxlan} mapping: vni, local, remote, underlay, all required. */
    private VxlanConfig readVxlan(String at) throws IOException {
        int line = line();
        Integer[] vni = {null};
        String[] text = {null, null, null};
        int[] lines = {0, 0, 0, 0};
        readObject(at, VXLAN_KEYS, (key, path) -> {
            switch (key) {
                case "vni" -> {
                    lines[0] = line();
                    vni[0] = readInt(path);
                }
                case "local" -> {
                    lines[1] = line();
                    text[0] = readText(path, 64);
                }
                case "remote" -> {
                    lines[2] = line();
                    text[1] = readText(path, 64);
                }
                case "underlay" -> {
                    lines[3] = line();
                    text[2] = readText(path, MAX_DEVICE_LENGTH);
                }
                default -> throw new IllegalStateException(key);
            }
        });
        String[] names = {"vni", "local", "remote", "underlay"};
        for (int i = 0; i < names.length; i++) {
            if ((i == 0 ? vni[0] : text[i - 1]) == null) {
                throw fail(join(at, names[i]), line, "a vxlan port needs " + names[i]);
            }
        }
        try {
            return new VxlanConfig(vni[0], text[0], text[1], text[2]);
        } catch (IllegalArgumentException e) {
            String field = e.getMessage().substring(0, e.getMessage().indexOf(':'));
            int i = List.of(names).indexOf(field);
            throw fail(join(at, field), lines[Math.max(0, i)], e.getMessage().substring(field.length() + 2));
        }
    }

    /** {@code net_vhost0} of {@code net_vhost0,iface=...}: two ports may not open one device. */
    static String deviceName(String device) {
        int comma = device.indexOf(',');
        return (comma < 0 ? device : device.substring(0, comma)).strip();
    }

    private void checkVlan(String path, int v) {
        if (v < 1 || v > 4094) {
            throw fail(path, v + " is not a VLAN (1..4094)");
        }
    }

    // --- typed values -------------------------------------------------------------------

    @FunctionalInterface
    private interface FieldReader {
        void read(String key, String path) throws IOException;
    }

    @FunctionalInterface
    private interface ElementReader {
        void read(int index) throws IOException;
    }

    private void readObject(String path, Set<String> keys, FieldReader fields) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw fail(path, "expected a mapping (key: value ...), got " + describe());
        }
        Set<String> seen = new HashSet<>();
        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            String child = join(path, key.matches("[A-Za-z0-9_-]{1,40}") ? key : quote(key));
            if (!keys.contains(key)) {
                throw fail(child, "unknown key; expected one of " + String.join(", ", keys));
            }
            if (!seen.add(key)) {
                throw fail(child, "given twice");
            }
            p.nextToken();
            fields.read(key, child);
        }
        if (t != JsonToken.END_OBJECT) {
            throw fail(path, "unexpected " + describe());
        }
    }

    private void readList(String path, ElementReader elements) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return;
        }
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw fail(path, "expected a list, got " + describe());
        }
        int i = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() == null) {
                throw fail(path, "unterminated list");
            }
            elements.read(i++);
        }
    }

    private int readInt(String path) throws IOException {
        if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) {
            throw fail(path, "expected an integer, got " + describe());
        }
        if (p.getNumberType() != JsonParser.NumberType.INT) {
            throw fail(path, p.getText() + " is out of range");
        }
        return p.getIntValue();
    }

    private Integer readOptionalInt(String path) throws IOException {
        return p.currentToken() == JsonToken.VALUE_NULL ? null : readInt(path);
    }

    private int readPositive(String path, int max) throws IOException {
        int v = readInt(path);
        if (v <= 0 || v > max) {
            throw fail(path, v + " is out of range (1.." + max + ")");
        }
        return v;
    }

    /** A string; numbers are taken as written ({@code name: 10} is the name "10"). */
    private String readString(String path) throws IOException {
        JsonToken t = p.currentToken();
        if (t != JsonToken.VALUE_STRING && t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
            throw fail(path, "expected a string, got " + describe());
        }
        return p.getText();
    }

    private String readText(String path, int maxLength) throws IOException {
        String s = readString(path);
        if (s.isBlank()) {
            throw fail(path, "is empty");
        }
        if (s.length() > maxLength) {
            throw fail(path, "longer than " + maxLength + " characters");
        }
        if (s.chars().anyMatch(Character::isISOControl)) {
            throw fail(path, "contains a control character");
        }
        return s;
    }

    private String readName(String path) throws IOException {
        String s = readString(path);
        if (!NAME.matcher(s).matches()) {
            throw fail(
                    path,
                    quote(s)
                            + " is not a name (1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit)");
        }
        return s;
    }

    // --- messages -----------------------------------------------------------------------

    private int line() {
        return p.currentTokenLocation().getLineNr();
    }

    private VswitchException fail(String path, String message) {
        return fail(path, line(), message);
    }

    private VswitchException fail(String path, int line, String message) {
        StringBuilder sb = new StringBuilder();
        if (source != null) {
            sb.append(source).append(':');
            if (line > 0) {
                sb.append(line).append(':');
            }
            sb.append(' ');
        }
        if (!path.isEmpty()) {
            sb.append(path).append(": ");
        }
        return new VswitchException(400, sb.append(message).toString(), path.isEmpty() ? null : path);
    }

    private String describe() throws IOException {
        JsonToken t = p.currentToken();
        if (t == null) {
            return "the end of the document";
        }
        return switch (t) {
            case START_OBJECT -> "a mapping";
            case START_ARRAY -> "a list";
            case VALUE_STRING -> "the string " + quote(p.getText());
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "the number " + clip(p.getText());
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "nothing (null)";
            default -> t.asString() == null ? t.name() : t.asString();
        };
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder("'");
        clip(s).codePoints().forEach(c -> {
            if (Character.isISOControl(c)
                    || Character.getType(c) == Character.LINE_SEPARATOR
                    || Character.getType(c) == Character.PARAGRAPH_SEPARATOR) {
                sb.append(String.format("\\x%02x", c));
            } else {
                sb.appendCodePoint(c);
            }
        });
        return sb.append('\'').toString();
    }

    private static String clip(String s) {
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }

    /** Where the parser stands, in the messages' notation ({@code bridges[0].ports[1].tag}); "" at the top. */
    static String pathOf(com.fasterxml.jackson.core.JsonStreamContext c) {
        java.util.ArrayDeque<String> parts = new java.util.ArrayDeque<>();
        for (; c != null && !c.inRoot(); c = c.getParent()) {
            if (c.inArray()) {
                parts.push("[" + Math.max(0, c.getCurrentIndex()) + "]");
            } else if (c.getCurrentName() != null) {
                String k = c.getCurrentName();
                parts.push("." + (k.matches("[A-Za-z0-9_-]{1,40}") ? k : quote(k)));
            }
        }
        String s = String.join("", parts);
        return s.startsWith(".") ? s.substring(1) : s;
    }

    private static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private static Set<String> ordered(String... keys) {
        // the message lists the keys in the file's order
        return new java.util.LinkedHashSet<>(List.of(keys));
    }
}
