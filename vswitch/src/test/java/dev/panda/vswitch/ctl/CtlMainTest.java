package dev.panda.vswitch.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.config.ConfigFiles;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.control.Json;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class CtlMainTest extends CtlServerFixture {

    void ok(String... args) {
        CtlRun r = ctl(args);
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err());
    }

    /** Exit 2, one line on stderr, nothing on stdout, and the switch unchanged. */
    void refused(String expected, String... args) {
        String before = ctl("show").out();
        CtlRun r = ctl(args);
        assertEquals(2, r.status(), r.out());
        assertEquals("", r.out());
        assertEquals("panda ctl: " + expected + "\n", r.err());
        assertEquals(before, ctl("show").out(), "show before equals show after");
    }

    @Test
    void verbsChangeTheSwitch() {
        ok("add-br", "br0", "mac-aging=60");
        ok("add-port", "br0", "vm1", "net_vhost0,iface=/run/panda/vm1.sock,client=1");
        ok("add-port", "br0", "c1", "net_af_xdp0,iface=veth-c1", "tag=10");
        ok("add-port", "br0", "up", "net_tap0,iface=panda0", "trunks=10,20", "native-vlan=30", "rx-filter=prefilter");
        assertEquals(60, control.bridges.get("br0").macAging());
        assertEquals(
                new PortConfig("up", "net_tap0,iface=panda0", null, List.of(10, 20), 30, "prefilter"),
                control.bridges.get("br0").ports().get(2));
        assertEquals("", ctl("add-br", "br1").out(), "changes are silent");

        String show = ctl("show").out();
        assertTrue(show.startsWith("panda vswitch (pmd mode rtc, cores 1, idle yield)\n"), show);
        assertTrue(
                show.contains("    Bridge br0\n        mac-aging: 60, mac-table-size: 8192, fdb entries: 2\n"), show);
        assertTrue(show.contains("        Port c1\n            device: net_af_xdp0,iface=veth-c1\n"), show);
        assertTrue(show.contains("            vlan: access, tag: 10\n"), show);
        assertTrue(show.contains("            vlan: trunk, trunks: 10,20, native-vlan: 30\n"), show);
        assertTrue(show.contains("            rx-filter: prefilter\n"), show);

        ok("del-port", "br0", "vm1");
        ok("del-br", "br1");
        assertEquals(List.of("br0"), List.copyOf(control.bridges.keySet()));
        ok("pmd-stats-clear");
        assertEquals(1, control.pmdClears);
    }

    @Test
    void controllerVerbs() {
        ok("add-br", "br0");
        ok("set-controller", "br0", "ptcp:6653", "tcp:198.18.0.9:6633");
        assertEquals(
                List.of("ptcp:6653", "tcp:198.18.0.9:6633"),
                control.bridges.get("br0").controllers());
        assertEquals(
                "ptcp:6653  listening  127.0.0.1:6653  connections=1\n"
                        + "tcp:198.18.0.9:6633  connected  127.0.0.1:6653  connections=1\n",
                ctl("get-controller", "br0").out());
        assertTrue(ctl("show").out().contains("        Controller \"ptcp:6653\"\n            state: listening"));
        refused(
                "bridge br0: controllers: 'unix:/x' is not a controller target: ptcp:PORT[:ADDR] (listen)"
                        + " or tcp:HOST:PORT (connect)",
                "set-controller",
                "br0",
                "unix:/x");
        refused("set-controller: missing arguments; usage: set-controller BR TARGET...", "set-controller", "br0");
        ok("del-controller", "br0");
        assertEquals(List.of(), control.bridges.get("br0").controllers());
        assertEquals("", ctl("get-controller", "br0").out());
    }

    @Test
    void readingVerbs() throws Exception {
        ok("add-br", "br0");
        assertEquals("""
                 port  VLAN  MAC                Age
                  vm1     0  52:54:00:00:00:01    3
                   c1    10  52:54:00:00:00:02  120
                """, ctl("fdb-show", "br0").out());
        String stats = ctl("port-stats").out();
        assertTrue(
                stats.startsWith("  port vm1 (br0): rx pkts=10, bytes=640, floods=1\n"
                        + "           tx pkts=12, bytes=768\n"
                        + "           drops no_buffer=0, vlan=2\n"),
                stats);
        assertTrue(stats.contains("  bridge br0: learned=2, moved=0, aged=0, table-full=0, floods=1\n"), stats);
        assertFalse(ctl("port-stats", "c1").out().contains("vm1"));
        String pmd = ctl("pmd-stats").out();
        assertTrue(pmd.startsWith("pmd thread core_id 1 (pmd-1, poller):\n  rx queues: vm1/0, c1/0\n"), pmd);
        assertTrue(pmd.contains("  busy: 25.00%\n"), pmd);
        assertTrue(pmd.contains("  avg processing cycles per packet: 361.50 (TSC 3.00 GHz)\n"), pmd);
        assertTrue(pmd.contains("  longest iteration: 80.0 us\n  iterations over 250 us: 0\n"), pmd);

        String json = ctl("--json", "fdb-show", "br0").out();
        assertEquals(
                "52:54:00:00:00:02",
                Json.MAPPER.readTree(json).at("/table/1/mac").asText());

        ok("add-port", "br0", "vm1", "net_ring0", "tag=7");
        String yaml = ctl("config-show").out();
        assertTrue(yaml.startsWith("pmd:\n"), yaml);
        assertEquals(control.config(), ConfigFiles.parseYaml(yaml.getBytes(StandardCharsets.UTF_8), "shown"));
        assertEquals(
                control.config(),
                ConfigFiles.configFromJson(ctl("config-show", "--json").out().getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void refusalsAreOneLineAndExit2() {
        ok("add-br", "br0");
        ok("add-port", "br0", "vm1", "net_ring0");
        refused("bridge br0 already exists", "add-br", "br0");
        refused("no bridge named nope", "add-port", "nope", "p", "net_ring1");
        refused("port vm1 already exists on br0", "add-port", "br0", "vm1", "net_ring1");
        refused("tag: 5000 is not a VLAN (1..4094)", "add-port", "br0", "p", "net_ring1", "tag=5000");
        refused("trunks[1]: 0 is not a VLAN (1..4094)", "add-port", "br0", "p", "net_ring1", "trunks=10,0");
        refused("tag: expected an integer, got the string 'ten'", "add-port", "br0", "p", "net_ring1", "tag=ten");
        refused("unknown device 'bad0'", "add-port", "br0", "p", "bad0");
        refused("device: is empty", "add-port", "br0", "p", "");
        refused("mac-aging: 0 is out of range (1..2147483647)", "add-br", "br1", "mac-aging=0");
        refused(
                "name: 'a b' is not a name (1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit)",
                "add-br",
                "a b");
        refused("no port named x on br0", "del-port", "br0", "x");
        refused("no bridge named a/b", "del-br", "a/b");
        refused("no port named zz", "port-stats", "zz");
        refused(
                "unknown verb 'add-bridge'; verbs: add-br, del-br, add-port, del-port, show, fdb-show, port-stats,"
                        + " pmd-stats, pmd-stats-clear, config-show, apply, set-fail-mode, add-flow, add-flows,"
                        + " mod-flows, del-flows, dump-flows, set-controller, del-controller, get-controller, capture",
                "add-bridge",
                "br0");
        refused(
                "add-port: missing arguments; usage: add-port BR PORT DEVICE [tag=N] [trunks=A,B] [native-vlan=N]"
                        + " [rx-filter=F]",
                "add-port",
                "br0",
                "p");
        refused("del-br: too many arguments; usage: del-br BR", "del-br", "br0", "br1");
        refused(
                "add-port: 'tag' is not KEY=VALUE (keys: native-vlan, rx-filter, tag, trunks)",
                "add-port",
                "br0",
                "p",
                "net_ring1",
                "tag");
        refused("add-br: unknown key 'colour' (keys: mac-aging, mac-table-size)", "add-br", "br1", "colour=red");
        refused("unknown option --frobnicate (see panda ctl --help)", "--frobnicate", "show");
        control.failNext = new IllegalStateException("boom");
        CtlRun r = ctl("show");
        assertEquals(2, r.status());
        assertEquals("panda ctl: internal error: IllegalStateException: boom\n", r.err());
    }

    @Test
    void noVswitchListening() {
        server.close();
        CtlRun r = ctl("show");
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("panda ctl: no vswitch listening on " + sock), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
    }

    @Test
    void helpAndNoVerb() {
        CtlRun r = ctl("--help");
        assertEquals(0, r.status());
        assertTrue(r.out().contains("add-port BR PORT DEVICE"), r.out());
        r = ctl();
        assertEquals(2, r.status());
        assertEquals("panda ctl: no verb given (see panda ctl --help)\n", r.err());
    }
}
