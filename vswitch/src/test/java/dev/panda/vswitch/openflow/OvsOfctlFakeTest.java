package dev.panda.vswitch.openflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** ovs-ofctl against the channel alone, on a fake bridge: the wire format as OVS reads and writes it. */
class OvsOfctlFakeTest {

    OpenFlowService service;
    FakeDatapath dp;
    String target;

    @BeforeEach
    void start() {
        OvsOfctl.require();
        service = new OpenFlowService();
        dp = new FakeDatapath("br0", 3);
        ControllerTarget t = ControllerTarget.parse("ptcp:0");
        service.configure(dp, List.of(t));
        target = "tcp:127.0.0.1:" + service.boundPort("br0", t);
    }

    @AfterEach
    void stop() {
        service.close();
    }

    @Test
    void showDescribesTheSwitchAndItsPorts() throws Exception {
        String out = OvsOfctl.ok("show", target);
        assertTrue(out.contains("OFPT_FEATURES_REPLY (OF1.3)"), out);
        assertTrue(out.contains("dpid:00005a5a00000001"), out);
        assertTrue(out.contains("n_tables:4"), out);
        assertTrue(out.contains(" 1(p1): addr:02:00:00:00:00:01"), out);
        assertTrue(out.contains(" 3(p3): addr:02:00:00:00:00:03"), out);
        assertTrue(out.contains("OFPT_GET_CONFIG_REPLY (OF1.3)"), out);
    }

    @Test
    void addFlowsAndDumpThem() throws Exception {
        OvsOfctl.ok(
                "add-flow",
                target,
                "priority=100,ip,nw_src=198.18.0.0/16,dl_dst=02:00:00:00:00:00/ff:00:00:00:00:00,actions=output:2");
        Path f = Files.createTempFile("flows", ".txt");
        try {
            Files.writeString(
                    f,
                    "priority=5,in_port=1,dl_vlan=10,actions=pop_vlan,output:3\n"
                            + "table=1,priority=7,tcp,tp_dst=80,actions=push_vlan:0x8100,set_field:4116->vlan_vid,write_actions(output:1),goto_table:2\n"
                            + "priority=0,actions=CONTROLLER:65535\n");
            OvsOfctl.ok("add-flows", target, f.toString());
        } finally {
            Files.delete(f);
        }
        String dump = OvsOfctl.ok("dump-flows", target);
        assertTrue(
                dump.contains(
                        "priority=100,ip,dl_dst=02:00:00:00:00:00/ff:00:00:00:00:00,nw_src=198.18.0.0/16 actions=output:2"),
                dump);
        assertTrue(dump.contains("n_packets=7, n_bytes=700"), dump);
        assertTrue(dump.contains("priority=5,in_port=1,dl_vlan=10 actions=pop_vlan,output:3"), dump);
        assertTrue(
                dump.contains(
                        "table=1, n_packets=7, n_bytes=700, priority=7,tcp,tp_dst=80 actions=push_vlan:0x8100,set_field:4116->vlan_vid,write_actions(output:1),goto_table:2"),
                dump);
        assertTrue(dump.contains("priority=0 actions=CONTROLLER:65535"), dump);
        assertEquals(4, dp.flows.size());
        OvsOfctl.Result bad =
                OvsOfctl.run("add-flow", target, "priority=1,dl_vlan=5,actions=set_field:20->vlan_vid,output:1");
        assertEquals(1, bad.status(), bad.out());
        assertTrue(bad.err().contains("OFPBAC_BAD_SET_ARGUMENT"), bad.err());
        OvsOfctl.ok("mod-flows", target, "in_port=1,dl_vlan=10,actions=output:2");
        assertTrue(OvsOfctl.ok("dump-flows", target).contains("priority=5,in_port=1,dl_vlan=10 actions=output:2"));
        OvsOfctl.ok("del-flows", target, "--strict", "priority=5,in_port=1,dl_vlan=10");
        assertEquals(3, dp.flows.size());
        OvsOfctl.ok("del-flows", target);
        assertEquals(0, dp.flows.size());
    }

    @Test
    void portsAndTables() throws Exception {
        String ports = OvsOfctl.ok("dump-ports", target);
        assertTrue(ports.contains("port  2: rx pkts=20, bytes=1000, drop=1, errs=3"), ports);
        String one = OvsOfctl.ok("dump-ports", target, "3");
        assertTrue(one.contains("port  3: rx pkts=30"), one);
        String desc = OvsOfctl.ok("dump-ports-desc", target);
        assertTrue(desc.contains(" 2(p2): addr:02:00:00:00:00:02"), desc);
        String tables = OvsOfctl.ok("dump-tables", target);
        assertTrue(tables.contains("table 0:"), tables);
        assertTrue(tables.contains("lookup=100"), tables);
        String features = OvsOfctl.ok("dump-table-features", target);
        assertTrue(features.contains("table 0"), features);
    }
}
