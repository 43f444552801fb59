package dev.panda.vswitch.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.FakeControl;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.control.Json;
import dev.panda.vswitch.flow.FailMode;
import dev.panda.vswitch.flow.FlowFilter;
import org.junit.jupiter.api.Test;

/**
 * The flow verbs of {@code panda ctl} through the real control server to real flow tables (on a
 * fake vswitch): add-flow, mod-flows, del-flows (strict and not), dump-flows in ovs-ofctl's
 * layout, set-fail-mode (config-show shows it), pmd-stats' flow-table lines, and refusals in one
 * line naming the OpenFlow error.
 */
class CtlFlowsTest extends CtlServerFixture {

    @Override
    void prepare(FakeControl control) {
        control.addBridge(BridgeConfig.of("br0"));
    }

    void ok(String... args) {
        CtlRun r = ctl(args);
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err());
    }

    void refused(String expected, String... args) {
        CtlRun r = ctl(args);
        assertEquals(2, r.status(), r.out());
        assertEquals("", r.out());
        assertEquals("panda ctl: " + expected + "\n", r.err());
    }

    @Test
    void addDumpModifyDelete() throws Exception {
        ok("add-flow", "br0", "table=0,priority=100,tcp,nw_dst=198.18.1.0/24,tp_dst=80,actions=output:2");
        ok("add-flow", "br0", "priority=10,in_port=1,dl_vlan=10,actions=pop_vlan,NORMAL");
        ok("add-flow", "br0", "table=1,priority=5,cookie=0x1f,idle_timeout=30,send_flow_rem,actions=drop");
        CtlRun d = ctl("dump-flows", "br0");
        assertEquals(0, d.status(), d.err());
        String[] lines = d.out().split("\n");
        assertEquals(3, lines.length, d.out());
        assertTrue(
                lines[0].matches(" cookie=0x0, duration=[0-9.]+s, table=0, n_packets=0, n_bytes=0, idle_age=\\d+,"
                        + " priority=100,tcp,nw_dst=198.18.1.0/24,tp_dst=80 actions=output:2"),
                lines[0]);
        assertTrue(lines[1].endsWith("priority=10,in_port=1,dl_vlan=10 actions=pop_vlan,NORMAL"), lines[1]);
        assertTrue(
                lines[2].matches(" cookie=0x1f, duration=[0-9.]+s, table=1, n_packets=0, n_bytes=0, idle_timeout=30,"
                        + " send_flow_rem, idle_age=\\d+, priority=5 actions=drop"),
                lines[2]);
        assertEquals(1, ctl("dump-flows", "br0", "table=1").out().split("\n").length);

        var json = Json.MAPPER.readTree(ctl("--json", "dump-flows", "br0").out());
        assertEquals("0x1f", json.path("flows").get(2).path("cookie").asText());
        assertEquals(
                "send_flow_rem", json.path("flows").get(2).path("flags").get(0).asText());

        ok("mod-flows", "br0", "tcp,actions=output:3");
        assertTrue(ctl("dump-flows", "br0").out().contains("tp_dst=80 actions=output:3"));
        ok("mod-flows", "br0", "--strict", "priority=10,in_port=1,dl_vlan=10,actions=drop");
        assertTrue(ctl("dump-flows", "br0").out().contains("dl_vlan=10 actions=drop"));

        ok("del-flows", "br0", "--strict", "priority=99,tcp,nw_dst=198.18.1.0/24,tp_dst=80");
        assertEquals(3, control.flows("br0").flowCount(), "strict: the priority differs, nothing deleted");
        ok("del-flows", "br0", "ip");
        assertEquals(2, control.flows("br0").flowCount(), "non-strict: the tcp flow is covered by ip");
        ok("del-flows", "br0");
        assertEquals(0, control.flows("br0").flows(FlowFilter.ALL).size());
    }

    @Test
    void failModeIsSetAndShownInTheConfig() {
        ok("set-fail-mode", "br0", "secure");
        assertEquals(FailMode.SECURE, control.flows("br0").failMode());
        assertTrue(
                ctl("config-show").out().contains("fail-mode: secure"),
                ctl("config-show").out());
        ok("set-fail-mode", "br0", "standalone");
        assertEquals(FailMode.STANDALONE, control.flows("br0").failMode());
        refused("set-fail-mode: 'open' is not secure or standalone", "set-fail-mode", "br0", "open");
        refused("no bridge named br9", "set-fail-mode", "br9", "secure");
    }

    @Test
    void refusalsNameTheOpenFlowError() {
        refused(
                "bad match: bad_prereq (OpenFlow error bad_prereq, type 4 code 9)",
                "add-flow",
                "br0",
                "priority=1,tp_dst=80,actions=drop");
        refused(
                "goto_table:0 must name a later table (1..63) (OpenFlow error bad_inst_table_id, type 3 code 2)",
                "add-flow",
                "br0",
                "actions=goto_table:0");
        refused("unknown action 'jump:3'", "add-flow", "br0", "actions=jump:3");
        refused("unknown field or keyword 'colour'", "add-flow", "br0", "colour=red,actions=drop");
        refused(
                "nw_dst: '198.18.0.300' is not an IPv4 address",
                "add-flow",
                "br0",
                "ip,nw_dst=198.18.0.300,actions=drop");
        refused("an added or modified flow needs actions= (actions=drop to drop)", "add-flow", "br0", "priority=3");
        refused("no bridge named br9", "dump-flows", "br9");
        refused("dump-flows: 'tabel=1' is not table=N", "dump-flows", "br0", "tabel=1");
        assertEquals(0, control.flows("br0").flowCount());
    }
}
