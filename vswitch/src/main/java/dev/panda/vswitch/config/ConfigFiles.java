package dev.panda.vswitch.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.panda.vswitch.VswitchException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * The config file ({@code vswitch.yaml}) and the same state as control-API JSON: read with a
 * one-line refusal naming the field and line, written back in the same form ({@code
 * config-show}) so that {@code load(write(c))} equals {@code c}.
 *
 * <p>Keys are kebab-case in YAML and JSON alike; see the module README for an annotated example.
 */
public final class ConfigFiles {

    /** Larger files and bodies are refused before parsing. */
    public static final int MAX_BYTES = 1 << 20;

    private static final StreamReadConstraints LIMITS = StreamReadConstraints.builder()
            .maxNestingDepth(32)
            .maxStringLength(64 * 1024)
            .maxNumberLength(32)
            .maxDocumentLength(MAX_BYTES)
            .build();

    private static final YAMLFactory YAML_FACTORY =
            YAMLFactory.builder().streamReadConstraints(LIMITS).build();
    private static final JsonFactory JSON_FACTORY =
            JsonFactory.builder().streamReadConstraints(LIMITS).build();

    private static final YAMLMapper YAML_WRITER = YAMLMapper.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
            .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
            .build();
    private static final ObjectMapper JSON_WRITER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ConfigFiles() {}

    /** Reads a config file; a missing, unreadable or bad file is refused with one line. */
    public static VswitchConfig load(Path file) {
        String name = file.toString();
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_BYTES) {
                throw VswitchException.badRequest(name + ": larger than " + MAX_BYTES + " bytes");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw VswitchException.badRequest(name + ": no such file");
        } catch (IOException e) {
            throw VswitchException.badRequest(name + ": cannot read: " + e.getMessage());
        }
        return parseYaml(bytes, name);
    }

    /**
     * A config from YAML text.
     *
     * @param source the file name messages start with ({@code vswitch.yaml:7: ...})
     */
    public static VswitchConfig parseYaml(byte[] yaml, String source) {
        return read(YAML_FACTORY, yaml, source, Kind.CONFIG);
    }

    /** The whole config as JSON (kebab-case keys, as the file). */
    public static VswitchConfig configFromJson(byte[] json) {
        return read(JSON_FACTORY, json, null, Kind.CONFIG);
    }

    /** An add-br request body: {@code {"name": "br0", "mac-aging": 300}}; defaults for absent keys. */
    public static BridgeConfig bridgeFromJson(byte[] json) {
        return read(JSON_FACTORY, json, null, Kind.BRIDGE);
    }

    /** An add-port request body: {@code {"name": "vm1", "device": "net_vhost0,iface=...", "tag": 10}}. */
    public static PortConfig portFromJson(byte[] json) {
        return read(JSON_FACTORY, json, null, Kind.PORT);
    }

    private enum Kind {
        CONFIG,
        BRIDGE,
        PORT
    }

    @SuppressWarnings("unchecked")
    private static <T> T read(JsonFactory factory, byte[] bytes, String source, Kind kind) {
        String where = source == null ? "" : source + ": ";
        if (bytes.length > MAX_BYTES) {
            throw VswitchException.badRequest(where + "larger than " + MAX_BYTES + " bytes");
        }
        try (JsonParser p = factory.createParser(bytes)) {
            ConfigFilesReader r = new ConfigFilesReader(p, source);
            try {
                return (T)
                        switch (kind) {
                            case CONFIG -> r.readConfig();
                            case BRIDGE -> r.readBridgeDocument();
                            case PORT -> r.readPortDocument();
                        };
            } catch (JacksonException e) {
                String field = ConfigFilesReader.pathOf(p.getParsingContext());
                String message = syntaxError(e, source, factory == YAML_FACTORY ? "YAML" : "JSON");
                if (!field.isEmpty() && source == null) {
                    message = field + ": " + message;
                }
                throw new VswitchException(400, message, field.isEmpty() ? null : field);
            }
        } catch (JacksonException e) {
            throw VswitchException.badRequest(syntaxError(e, source, factory == YAML_FACTORY ? "YAML" : "JSON"));
        } catch (IOException e) {
            throw VswitchException.badRequest(where + "cannot read: " + oneLine(e.getMessage()));
        }
    }

    /** {@code vswitch.yaml:3: not YAML: mapping values are not allowed here}, one line. */
    private static String syntaxError(JacksonException e, String source, String language) {
        JsonLocation loc = e.getLocation();
        int line = loc == null ? -1 : loc.getLineNr();
        String problem = e.getOriginalMessage();
        if (e.getCause() instanceof org.yaml.snakeyaml.error.MarkedYAMLException m) {
            problem = m.getProblem();
            if (m.getProblemMark() != null) {
                line = m.getProblemMark().getLine() + 1;
            }
        }
        StringBuilder sb = new StringBuilder();
        if (source != null) {
            sb.append(source).append(':');
            if (line > 0) {
                sb.append(line).append(':');
            }
            sb.append(' ');
        } else if (line > 0) {
            sb.append("line ").append(line).append(": ");
        }
        return sb.append("not ")
                .append(language)
                .append(": ")
                .append(oneLine(problem))
                .toString();
    }

    static String oneLine(String s) {
        if (s == null || s.isBlank()) {
            return "malformed";
        }
        String one = s.strip().replaceAll("\\s*\\R\\s*", " ").replaceAll("\\p{Cntrl}", "?");
        return one.length() > 200 ? one.substring(0, 197) + "..." : one;
    }

    // --- writing ------------------------------------------------------------------------

    /** The config file form of {@code c} ({@code config-show}). */
    public static String toYaml(VswitchConfig c) {
        try {
            return YAML_WRITER.writeValueAsString(toTree(c));
        } catch (IOException e) {
            throw new IllegalStateException("writing YAML", e);
        }
    }

    /** The same tree as JSON (what {@code GET /v1/config} answers by default). */
    public static String toJson(VswitchConfig c) {
        try {
            return JSON_WRITER.writeValueAsString(toTree(c)) + "\n";
        } catch (IOException e) {
            throw new IllegalStateException("writing JSON", e);
        }
    }

    public static ObjectNode toTree(VswitchConfig c) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ObjectNode pmd = root.putObject("pmd");
        ints(pmd.putArray("cores"), c.pmd().cores());
        pmd.put("mode", c.pmd().mode().label());
        pmd.put("idle", c.pmd().idle());
        PmdConfig.Stages st = c.pmd().stages();
        if (st.classify() != null || st.tx() != null) {
            ObjectNode stages = pmd.putObject("stages");
            if (st.classify() != null) {
                stages.put("classify", st.classify());
            }
            if (st.tx() != null) {
                stages.put("tx", st.tx());
            }
        }
        pmd.put("ring-size", c.pmd().ringSize());
        pmd.put("burst", c.pmd().burst());
        ArrayNode bridges = root.putArray("bridges");
        for (BridgeConfig b : c.bridges()) {
            bridges.add(toTree(b));
        }
        if (c.metrics().enabled()) {
            root.putObject("metrics").put("listen", c.metrics().listen());
        }
        if (c.stateDir() != null) {
            root.put("state-dir", c.stateDir());
        }
        return root;
    }

    public static ObjectNode toTree(BridgeConfig b) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("name", b.name());
        n.put("mac-aging", b.macAging());
        n.put("mac-table-size", b.macTableSize());
        if (!b.failMode().equals(BridgeConfig.DEFAULT_FAIL_MODE)) {
            n.put("fail-mode", b.failMode());
        }
        ArrayNode ports = n.putArray("ports");
        for (PortConfig p : b.ports()) {
            ports.add(toTree(p));
        }
        if (!b.controllers().isEmpty()) {
            ArrayNode c = n.putArray("controllers");
            b.controllers().forEach(c::add);
        }
        return n;
    }

    public static ObjectNode toTree(PortConfig p) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("name", p.name());
        if (p.vxlan() != null) {
            ObjectNode v = n.putObject("vxlan");
            v.put("vni", p.vxlan().vni());
            v.put("local", p.vxlan().local());
            v.put("remote", p.vxlan().remote());
            v.put("underlay", p.vxlan().underlay());
        } else {
            n.put("device", p.device());
        }
        if (p.tag() != null) {
            n.put("tag", p.tag());
        }
        if (!p.trunks().isEmpty()) {
            ints(n.putArray("trunks"), p.trunks());
        }
        if (p.nativeVlan() != null) {
            n.put("native-vlan", p.nativeVlan());
        }
        if (p.rxFilter() != null) {
            n.put("rx-filter", p.rxFilter());
        }
        return n;
    }

    private static void ints(ArrayNode a, List<Integer> values) {
        values.forEach(a::add);
    }

    // --- CPU lists ----------------------------------------------------------------------

    /**
     * {@code 1}, {@code 1,2}, {@code 0-1}, {@code 0-1,4}: ascending, each CPU once.
     *
     * @throws IllegalArgumentException with a one-line message
     */
    public static List<Integer> parseCpuList(String text) {
        String bad = ConfigFilesReader.quote(String.valueOf(text)) + " is not a CPU list (e.g. 1, 1,2 or 0-1; CPUs 0.."
                + ConfigFilesReader.MAX_CPU + ")";
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException(bad);
        }
        TreeSet<Integer> cpus = new TreeSet<>();
        for (String part : text.split(",", -1)) {
            String[] range = part.strip().split("-", -1);
            if (range.length > 2) {
                throw new IllegalArgumentException(bad);
            }
            int lo = cpu(range[0], bad);
            int hi = range.length == 2 ? cpu(range[1], bad) : lo;
            if (hi < lo) {
                throw new IllegalArgumentException(bad);
            }
            for (int c = lo; c <= hi; c++) {
                cpus.add(c);
            }
        }
        return new ArrayList<>(cpus);
    }

    private static int cpu(String s, String bad) {
        String t = s.strip();
        if (t.isEmpty() || t.length() > 4 || !t.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException(bad);
        }
        int c = Integer.parseInt(t);
        if (c > ConfigFilesReader.MAX_CPU) {
            throw new IllegalArgumentException(bad);
        }
        return c;
    }
}
