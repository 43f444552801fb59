package dev.panda.vswitch.vxlan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.FakeControl;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.config.ConfigDiff;
import dev.panda.vswitch.config.ConfigFiles;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.config.VxlanConfig;
import dev.panda.vswitch.control.ControlServer;
import dev.panda.vswitch.ctl.CtlMain;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tunnel port in the config file, {@code config-show}'s YAML and JSON, {@code apply}'s difference
 * and {@code panda ctl add-port ... vxlan ...}; each refusal in one line naming the field.
 */
class VxlanConfigTest {

    static final String YAML = """
            bridges:
              - name: br0
                ports:
                  - {name: h, device: 'net_af_packet1,iface=veth1'}
                  - name: vx42
                    tag: 10
                    vxlan: {vni: 42, local: 198.18.0.1, remote: 198.18.0.2, underlay: 'net_af_packet9,iface=eth1'}
                  - name: vx43
                    vxlan: {vni: 43, local: 198.18.0.1, remote: 198.18.0.3, underlay: 'net_af_packet9,iface=eth1'}
            """;

    @TempDir
    Path dir;

    private static VswitchConfig parse(String yaml) {
        return ConfigFiles.parseYaml(yaml.getBytes(StandardCharsets.UTF_8), "v.yaml");
    }

    @Test
    void tunnelsReadPrintAndCompare() {
        VswitchConfig c = parse(YAML);
        PortConfig vx = c.bridges().get(0).ports().get(1);
        assertEquals(new VxlanConfig(42, "198.18.0.1", "198.18.0.2", "net_af_packet9,iface=eth1"), vx.vxlan());
        assertEquals(10, vx.tag());
        assertEquals(
                "vxlan vni=42 local=198.18.0.1 remote=198.18.0.2 underlay='net_af_packet9,iface=eth1'", vx.device());
        // YAML and JSON printouts read back equal: no difference
        VswitchConfig y = parse(ConfigFiles.toYaml(c));
        VswitchConfig j = ConfigFiles.configFromJson(ConfigFiles.toJson(c).getBytes(StandardCharsets.UTF_8));
        assertTrue(ConfigDiff.between(c, y).isEmpty(), ConfigDiff.between(c, y).toString());
        assertTrue(ConfigDiff.between(c, j).isEmpty(), ConfigDiff.between(c, j).toString());
        assertTrue(!ConfigFiles.toYaml(c).contains("device: \"vxlan"), ConfigFiles.toYaml(c));
        // a changed remote reopens the port; a changed tag does not
        VswitchConfig moved =
                parse(YAML.replace("remote: 198.18.0.2", "remote: 198.18.0.4").replace("tag: 10", "tag: 20"));
        ConfigDiff d = ConfigDiff.between(c, moved);
        assertEquals(1, d.changes().size(), d.toString());
        ConfigDiff.PortChanged ch = (ConfigDiff.PortChanged) d.changes().get(0);
        assertTrue(ch.reopens() && ch.vlanChanged(), ch.line());
        assertTrue(ch.line().contains("remote=198.18.0.4"), ch.line());
    }

    @Test
    void badTunnelsAreRefusedInOneLine() {
        refused("vni: 16777216 is not a VNI (0..16777215)", "vni: 42", "vni: 16777216");
        refused("local: '198.18.0' is not an IPv4 address (a.b.c.d)", "local: 198.18.0.1", "local: 198.18.0");
        refused(
                "remote: 224.0.0.1 is not a unicast address a VTEP can have",
                "remote: 198.18.0.2",
                "remote: 224.0.0.1");
        refused("remote: 198.18.0.1 is the local address", "remote: 198.18.0.2", "remote: 198.18.0.1");
        refused(
                "a vxlan port needs underlay",
                ", underlay: 'net_af_packet9,iface=eth1'}\n      - name: vx43",
                "}\n      - name: vx43");
        refused("unknown key; expected one of vni, local, remote, underlay", "vni: 42,", "vni: 42, ttl: 5,");
        refused("a vxlan port has no device", "    tag: 10\n", "    device: net_ring1\n");
        refused(
                "vxlan 42 to 198.18.0.2 is already used at",
                "vni: 43, local: 198.18.0.1, remote: 198.18.0.3",
                "vni: 42, local: 198.18.0.1, remote: 198.18.0.2");
        refused(
                "vxlan.underlay: device net_af_packet9 is already used at bridges[0].ports[0].device",
                "net_af_packet1,iface=veth1",
                "net_af_packet9,iface=veth1");
    }

    private static void refused(String expected, String from, String to) {
        String bad = YAML.replace(from, to);
        assertTrue(!bad.equals(YAML), from);
        VswitchException e = assertThrows(VswitchException.class, () -> parse(bad));
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().startsWith("v.yaml:"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void onlyTunnelPortsHaveATunnelKey() throws Exception {
        var plain = new dev.panda.vswitch.Views.PortStatsView("br0", "h", 1, 2, 3, 4, 5, java.util.Map.of());
        var tunnel = new dev.panda.vswitch.Views.PortStatsView(
                "br0", "vx", 1, 2, 3, 4, 5, java.util.Map.of(), java.util.Map.of("resolved", 1L));
        String a = dev.panda.vswitch.control.Json.MAPPER.writeValueAsString(plain);
        String b = dev.panda.vswitch.control.Json.MAPPER.writeValueAsString(tunnel);
        assertTrue(!a.contains("tunnel"), a);
        assertEquals(
                1,
                dev.panda.vswitch.control.Json.MAPPER
                        .readTree(b)
                        .at("/tunnel/resolved")
                        .asInt(),
                b);
    }

    @Test
    void ctlAddPortVxlan() {
        FakeControl control = new FakeControl();
        Path sock = dir.resolve("v.ctl");
        try (ControlServer server = ControlServer.start(sock, control, null)) {
            assertEquals(0, ctl(sock, "add-br", "br0")[0].length());
            String[] r = ctl(
                    sock,
                    "add-port",
                    "br0",
                    "vx42",
                    "vxlan",
                    "vni=42",
                    "local=198.18.0.1",
                    "remote=198.18.0.2",
                    "underlay=net_af_packet9,iface=eth1",
                    "tag=10");
            assertEquals("", r[1]);
            PortConfig p = control.bridges.get("br0").ports().get(0);
            assertEquals(new VxlanConfig(42, "198.18.0.1", "198.18.0.2", "net_af_packet9,iface=eth1"), p.vxlan());
            assertEquals(10, p.tag());
            r = ctl(sock, "add-port", "br0", "vx43", "vxlan", "vni=43", "local=198.18.0.1", "remote=198.18.0.2");
            assertEquals(
                    "panda ctl: add-port: a vxlan port needs underlay= (vxlan vni=N local=IP remote=IP "
                            + "underlay=DEVICE)\n",
                    r[1]);
            r = ctl(
                    sock,
                    "add-port",
                    "br0",
                    "vx43",
                    "vxlan",
                    "vni=x",
                    "local=198.18.0.1",
                    "remote=198.18.0.2",
                    "underlay=net_ring1");
            assertTrue(r[1].startsWith("panda ctl: vxlan.vni: expected an integer"), r[1]);
            assertEquals(
                    List.of("vx42"),
                    control.bridges.get("br0").ports().stream()
                            .map(PortConfig::name)
                            .toList());
        }
    }

    /** {@code panda ctl}: stdout and stderr. */
    private static String[] ctl(Path sock, String... args) {
        List<String> all = new java.util.ArrayList<>(List.of("--control", sock.toString()));
        all.addAll(List.of(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        CtlMain.run(
                all.toArray(String[]::new),
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new String[] {out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }
}
