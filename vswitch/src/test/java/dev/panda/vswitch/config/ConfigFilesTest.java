package dev.panda.vswitch.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.VswitchException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigFilesTest {

    static final String EXAMPLE = """
            # two bridges
            pmd:
              cores: [1]
              mode: pipeline
              idle: park
              stages: {classify: 1, tx: 1}
              ring-size: 2048
              burst: 64
            bridges:
              - name: br0
                mac-aging: 60
                ports:
                  - name: vm1
                    device: net_vhost0,iface=/run/panda/vm1.sock,client=1
                  - name: c1
                    device: 'net_af_xdp0,iface=veth-c1'
                    tag: 10
                  - name: up
                    device: net_tap0,iface=panda0
                    trunks: [10, 20]
                    native-vlan: 30
                    rx-filter: prefilter,engine=interp
              - name: br1
                mac-table-size: 16
            """;

    static VswitchConfig parse(String yaml) {
        return ConfigFiles.parseYaml(yaml.getBytes(StandardCharsets.UTF_8), "vswitch.yaml");
    }

    static String refusal(String yaml) {
        VswitchException e = assertThrows(VswitchException.class, () -> parse(yaml));
        assertEquals(400, e.status());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void readsTheExample() {
        VswitchConfig c = parse(EXAMPLE);
        assertEquals(List.of(1), c.pmd().cores());
        assertEquals(PmdConfig.Mode.PIPELINE, c.pmd().mode());
        assertEquals("park", c.pmd().idle());
        assertEquals(new PmdConfig.Stages(1, 1), c.pmd().stages());
        assertEquals(2048, c.pmd().ringSize());
        assertEquals(64, c.pmd().burst());
        BridgeConfig br0 = c.bridges().get(0);
        assertEquals(new BridgeConfig("br0", 60, 8192, br0.ports()), br0);
        assertEquals(
                PortConfig.of("vm1", "net_vhost0,iface=/run/panda/vm1.sock,client=1"),
                br0.ports().get(0));
        assertEquals(
                new PortConfig("c1", "net_af_xdp0,iface=veth-c1", 10, List.of(), null, null),
                br0.ports().get(1));
        assertEquals(
                new PortConfig("up", "net_tap0,iface=panda0", null, List.of(10, 20), 30, "prefilter,engine=interp"),
                br0.ports().get(2));
        assertEquals(new BridgeConfig("br1", 300, 16, List.of()), c.bridges().get(1));
    }

    @Test
    void emptyFileAndDefaults() {
        assertEquals(VswitchConfig.empty(), parse(""));
        assertEquals(VswitchConfig.empty(), parse("# nothing\n"));
        assertEquals(VswitchConfig.empty(), parse("pmd: {}\nbridges: []\n"));
        assertEquals(List.of(0, 1, 3), parse("pmd:\n  cores: 0-1,3\n").pmd().cores());
    }

    @Test
    void roundTrips() {
        VswitchConfig c = parse(EXAMPLE);
        String yaml = ConfigFiles.toYaml(c);
        assertEquals(c, parse(yaml), yaml);
        assertEquals(c, ConfigFiles.configFromJson(ConfigFiles.toJson(c).getBytes(StandardCharsets.UTF_8)));
        assertEquals(VswitchConfig.empty(), parse(ConfigFiles.toYaml(VswitchConfig.empty())));
    }

    @Test
    void roundTripsAwkwardStrings() {
        Random rnd = new Random(7);
        String[] odd = {
            "yes", "no", "true", "null", "~", "123", "0x10", "1e3", "-", "a: b", "#x", "'q'", "\"dq\"", "é€😀", " lead",
            "trail ", "[x]", "{y}", "&a", "*b", "!t", "%p", "@", "`", "a,b=c", "--- x", "...", "? k"
        };
        for (int i = 0; i < 200; i++) {
            String dev = "net_ring" + i + "," + odd[rnd.nextInt(odd.length)] + odd[rnd.nextInt(odd.length)];
            String filter = odd[rnd.nextInt(odd.length)];
            if (filter.isBlank()) {
                continue;
            }
            String name = odd[rnd.nextInt(odd.length)].matches("[A-Za-z0-9][A-Za-z0-9_.-]*")
                    ? odd[rnd.nextInt(odd.length)].replaceAll("[^A-Za-z0-9]", "") + "p" + i
                    : "p" + i;
            PortConfig p = new PortConfig(name, dev, null, List.of(4094, 1), 7, filter);
            VswitchConfig c =
                    new VswitchConfig(PmdConfig.defaults(), List.of(new BridgeConfig("123", 1, 1, List.of(p))));
            String yaml = ConfigFiles.toYaml(c);
            assertEquals(c, parse(yaml), yaml);
        }
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "bridges:\\n  - name: br0\\n    ports:\\n      - {name: a, device: net_ring0}\\n      - name: b\\n        device: net_ring1\\n        tag: 5000\\n"
                        + "|vswitch.yaml:7: bridges[0].ports[1].tag: 5000 is not a VLAN (1..4094)",
                "bridges:\\n  - name: br0\\n    ports:\\n      - {name: a, device: net_ring0, tag: 0}\\n"
                        + "|vswitch.yaml:4: bridges[0].ports[0].tag: 0 is not a VLAN (1..4094)",
                "bridges:\\n  - name: br0\\n    ports:\\n      - {name: a, device: net_ring0, trunks: [10, 4095]}\\n"
                        + "|vswitch.yaml:4: bridges[0].ports[0].trunks[1]: 4095 is not a VLAN (1..4094)",
                "bridges:\\n  - name: br0\\n    ports:\\n      - {name: a, device: net_ring0, native-vlan: -1, trunks: [1]}\\n"
                        + "|vswitch.yaml:4: bridges[0].ports[0].native-vlan: -1 is not a VLAN (1..4094)",
                "pmd:\\n  cores: [1]\\n  colour: blue\\n"
                        + "|vswitch.yaml:3: pmd.colour: unknown key; expected one of cores, mode, idle, stages, ring-size, burst",
                "bridges:\\n  - name: br0\\n  - name: br0\\n|vswitch.yaml:3: bridges[1].name: bridge br0 is defined twice",
                "bridges:\\n  - name: br0\\n    ports: [{name: a, device: net_ring0}]\\n  - name: br1\\n    ports: [{name: a, device: net_ring1}]\\n"
                        + "|vswitch.yaml:5: bridges[1].ports[0].name: port a is defined twice",
                "bridges:\\n  - name: br0\\n    ports: [{name: a, device: net_ring0}, {name: b, device: 'net_ring0,size=64'}]\\n"
                        + "|vswitch.yaml:3: bridges[0].ports[1].device: device net_ring0 is already used at bridges[0].ports[0].device",
                "bridges:\\n  - name: br0\\n    ports:\\n      - name: a\\n        device: ''\\n"
                        + "|vswitch.yaml:5: bridges[0].ports[0].device: is empty",
                "bridges:\\n  - name: br0\\n    ports:\\n      - name: a\\n"
                        + "|vswitch.yaml:4: bridges[0].ports[0]: port a needs a device",
                "bridges:\\n  - mac-aging: 5\\n|vswitch.yaml:2: bridges[0]: a bridge needs a name",
                "bridges:\\n  - name: br0\\n    mac-aging: 0\\n|vswitch.yaml:3: bridges[0].mac-aging: 0 is out of range (1..2147483647)",
                "bridges:\\n  - name: br0\\n    mac-table-size: -5\\n"
                        + "|vswitch.yaml:3: bridges[0].mac-table-size: -5 is out of range (1..16777216)",
                "pmd:\\n  ring-size: 1000\\n|vswitch.yaml:2: pmd.ring-size: 1000 is not a power of two (1..1048576)",
                "pmd:\\n  burst: 0\\n|vswitch.yaml:2: pmd.burst: 0 is not a burst size (1..512)",
                "pmd:\\n  burst: 513\\n|vswitch.yaml:2: pmd.burst: 513 is not a burst size (1..512)",
                "pmd:\\n  burst: many\\n|vswitch.yaml:2: pmd.burst: expected an integer, got the string 'many'",
                "pmd:\\n  mode: fast\\n|vswitch.yaml:2: pmd.mode: 'fast' is not a mode (rtc or pipeline)",
                "pmd:\\n  idle: nap\\n|vswitch.yaml:2: pmd.idle: 'nap' is not an idle strategy (spin, yield or park)",
                "pmd:\\n  cores: [1, 1]\\n|vswitch.yaml:2: pmd.cores[1]: CPU 1 is listed twice",
                "pmd:\\n  cores: 1-x\\n|vswitch.yaml:2: pmd.cores: '1-x' is not a CPU list (e.g. 1, 1,2 or 0-1; CPUs 0..1023)",
                "pmd:\\n  ring-size: big\\n|vswitch.yaml:2: pmd.ring-size: expected an integer, got the string 'big'",
                "pmd:\\n  ring-size: 99999999999\\n|vswitch.yaml:2: pmd.ring-size: 99999999999 is out of range",
                "bridges:\\n  name: br0\\n|vswitch.yaml:2: bridges: expected a list, got a mapping",
                "- a\\n|vswitch.yaml:1: expected a mapping (key: value ...), got a list",
                "pmd: {}\\n---\\npmd: {}\\n|vswitch.yaml:3: more than one document",
                "bridges:\\n  - name: 'br 0'\\n"
                        + "|vswitch.yaml:2: bridges[0].name: 'br 0' is not a name (1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit)",
                "bridges:\\n  - {name: b, ports: [{name: a, device: x, tag: 1, trunks: [2]}]}\\n"
                        + "|vswitch.yaml:2: bridges[0].ports[0].tag: an access port (tag) carries no trunks; give tag or trunks",
                "pmd:\\n  mode: rtc\\n  mode: rtc\\n|vswitch.yaml:3: pmd.mode: given twice",
            })
    void refusesWithOneLine(String yaml, String message) {
        assertEquals(message, refusal(yaml.replace("\\n", "\n")));
    }

    @Test
    void syntaxErrorsAreOneLineWithTheLine() {
        assertEquals(
                "vswitch.yaml:3: not YAML: mapping values are not allowed here",
                refusal("pmd:\n  mode: rtc\n  idle: yield: x\n"));
        String m = refusal("pmd:\n  cores: [1\n");
        assertTrue(m.startsWith("vswitch.yaml:3: not YAML: "), m);
    }

    @Test
    void fileErrors(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("nope.yaml");
        assertEquals(
                missing + ": no such file",
                assertThrows(VswitchException.class, () -> ConfigFiles.load(missing))
                        .getMessage());
        Path f = dir.resolve("v.yaml");
        Files.writeString(f, EXAMPLE);
        assertEquals(parse(EXAMPLE), ConfigFiles.load(f));
    }

    @Test
    void requestBodies() {
        assertEquals(
                BridgeConfig.of("br0"),
                ConfigFiles.bridgeFromJson("{\"name\":\"br0\"}".getBytes(StandardCharsets.UTF_8)));
        assertEquals(
                new PortConfig("p", "net_ring0", 10, List.of(), null, null),
                ConfigFiles.portFromJson(
                        "{\"name\":\"p\",\"device\":\"net_ring0\",\"tag\":10}".getBytes(StandardCharsets.UTF_8)));
        VswitchException e = assertThrows(
                VswitchException.class,
                () -> ConfigFiles.portFromJson(
                        "{\"name\":\"p\",\"device\":\"net_ring0\",\"tag\":5000}".getBytes(StandardCharsets.UTF_8)));
        assertEquals("tag: 5000 is not a VLAN (1..4094)", e.getMessage());
        assertEquals("tag", e.field());
        e = assertThrows(VswitchException.class, () -> ConfigFiles.bridgeFromJson("{\"name\":".getBytes()));
        assertTrue(e.getMessage().startsWith("name: line 1: not JSON: "), e.getMessage());
        assertEquals("name", e.field(), "a syntax error names where the parser stood");
        e = assertThrows(
                VswitchException.class,
                () -> ConfigFiles.bridgeFromJson(
                        "{\"name\": \"b\", \"ports\": [{\"name\": \"p\", \"device\": \"d\", \"tag\": \"x\"}]}"
                                .getBytes()));
        assertEquals("ports[0].tag: expected an integer, got the string 'x'", e.getMessage());
        assertEquals("ports[0].tag", e.field());
        e = assertThrows(
                VswitchException.class,
                () -> ConfigFiles.bridgeFromJson(
                        "{\"name\": \"b\", \"ports\": [{\"name\": \"p\", \"device\": \"d\"}, }".getBytes()));
        assertEquals("ports[1]", e.field(), e.getMessage());
        e = assertThrows(VswitchException.class, () -> ConfigFiles.bridgeFromJson(new byte[0]));
        assertTrue(e.getMessage().startsWith("empty body"), e.getMessage());
    }

    @Test
    void cpuLists() {
        assertEquals(List.of(1), ConfigFiles.parseCpuList("1"));
        assertEquals(List.of(1, 2), ConfigFiles.parseCpuList("2,1"));
        assertEquals(List.of(0, 1, 4), ConfigFiles.parseCpuList("0-1,4"));
        for (String bad : new String[] {"", "a", "1-", "-1", "2-1", "1,,2", "1-2-3", "99999", "1024"}) {
            assertThrows(IllegalArgumentException.class, () -> ConfigFiles.parseCpuList(bad), bad);
        }
    }

    @Test
    void openflowControllers() {
        VswitchConfig c = parse(
                "bridges:\n  - name: br0\n    controllers: ['ptcp:6653', 'tcp:198.18.0.9:6633', 'ptcp:6654:0.0.0.0']\n");
        assertEquals(
                List.of("ptcp:6653", "tcp:198.18.0.9:6633", "ptcp:6654:0.0.0.0"),
                c.bridges().getFirst().controllers());
        String yaml = ConfigFiles.toYaml(c);
        assertTrue(yaml.contains("controllers:"), yaml);
        assertEquals(c, parse(yaml), yaml);
        assertEquals(
                c, ConfigFiles.configFromJson(ConfigFiles.toJson(c).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertFalse(ConfigFiles.toYaml(parse("bridges: [{name: br1}]\n")).contains("controllers"));
        VswitchException e = assertThrows(
                VswitchException.class,
                () -> parse("bridges:\n  - name: br0\n    controllers: ['tcp:nohost.example:1']\n"));
        assertTrue(
                e.getMessage()
                        .contains(
                                "bridges[0].controllers[0]: 'tcp:nohost.example:1': 'nohost.example' is not an IP address"),
                e.getMessage());
        e = assertThrows(
                VswitchException.class,
                () -> parse("bridges:\n  - name: br0\n    controllers: ['ptcp:1', 'ptcp:1:127.0.0.1']\n"));
        assertTrue(e.getMessage().contains("controller ptcp:1 is listed twice"), e.getMessage());
        // apply's difference names the change
        ConfigDiff d = ConfigDiff.between(parse("bridges: [{name: br0}]\n"), c);
        assertEquals(
                List.of("~ bridge br0 controllers [] -> [ptcp:6653, tcp:198.18.0.9:6633, ptcp:6654:0.0.0.0]"),
                d.changes().stream().map(ConfigDiff.Change::line).toList());
        assertTrue(ConfigDiff.between(c, parse(yaml)).isEmpty());
    }

    @Test
    void metricsListener() {
        VswitchConfig c = parse("metrics:\n  listen: 127.0.0.1:9464\n");
        assertEquals(new MetricsConfig("127.0.0.1:9464"), c.metrics());
        assertEquals(
                new java.net.InetSocketAddress("127.0.0.1", 9464), c.metrics().address());
        String yaml = ConfigFiles.toYaml(c);
        assertTrue(yaml.contains("metrics:\n  listen: 127.0.0.1:9464\n"), yaml);
        assertEquals(c, parse(yaml));
        assertEquals(c, ConfigFiles.configFromJson(ConfigFiles.toJson(c).getBytes(StandardCharsets.UTF_8)));
        VswitchConfig all = parse(EXAMPLE + "metrics: {listen: '[::1]:0'}\n");
        assertEquals(0, all.metrics().address().getPort());
        assertEquals(all, parse(ConfigFiles.toYaml(all)));
        // off: absent, empty, null; and then config-show prints no metrics key
        for (String off : new String[] {"", "metrics: {}\n", "metrics: null\n", "metrics: {listen: null}\n"}) {
            assertEquals(MetricsConfig.off(), parse(off).metrics(), off);
        }
        assertTrue(!ConfigFiles.toYaml(VswitchConfig.empty()).contains("metrics"));
        assertEquals(
                "vswitch.yaml:2: metrics.listen: 'localhost:9464' is not ADDR:PORT (an IP address and a port, e.g."
                        + " 127.0.0.1:9464 or [::1]:9464)",
                refusal("metrics:\n  listen: localhost:9464\n"));
        assertEquals(
                "vswitch.yaml:2: metrics.port: unknown key; expected one of listen",
                refusal("metrics:\n  port: 9464\n"));
        assertEquals(
                "vswitch.yaml:1: metrics: expected a mapping (key: value ...), got the number 9464",
                refusal("metrics: 9464\n"));
        for (String bad : new String[] {
            "127.0.0.1",
            "127.0.0.1:",
            ":9464",
            "127.0.0.1:65536",
            "127.0.0.1:-1",
            "127.0.0.1:94a",
            "1.2.3:80",
            "256.0.0.1:80",
            "::1:80",
            "[127.0.0.1]:80",
            "[::1]",
            "[]:80",
            "127.0.0.1:123456",
            "a.b.c.d:1",
            " 1.2.3.4:5"
        }) {
            assertThrows(IllegalArgumentException.class, () -> MetricsConfig.parseListen(bad), bad);
            assertTrue(refusal("metrics: {listen: '" + bad + "'}\n").contains("is not ADDR:PORT"), bad);
        }
        assertEquals(65535, MetricsConfig.parseListen("0.0.0.0:65535").getPort());
    }
}
