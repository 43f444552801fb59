package dev.panda.vswitch.openflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.vswitch.EmptyVswitch;
import dev.panda.vswitch.Views;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.BridgeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * ovs-ofctl (Debian's openvswitch-common) drives a real vswitch bridge through a ptcp listener:
 * show, dump-ports-desc, dump-tables, add-flows from a file, add-flow, dump-flows parsed and
 * compared with what was installed, mod-flows, del-flows --strict and del-flows, dump-ports; and
 * the flows steer pings between three network namespaces (AF_XDP ports on veths) exactly as
 * dump-flows says, its counters moving by the packets sent. Needs root.
 */
class OvsOfctlVswitchTest {

    /** One dump-flows line, parsed. */
    record Flow(int table, long packets, long bytes, String match, String actions) {}

    private static final Pattern LINE = Pattern.compile(
            "^ cookie=0x[0-9a-f]+, duration=[0-9.]+s, table=(\\d+), n_packets=(\\d+), n_bytes=(\\d+), (?:idle_age=\\d+, )?(\\S*?) ?actions=(\\S+)$");

    static Map<String, Flow> dump(String target) throws Exception {
        String out = OvsOfctl.ok("--no-names", "dump-flows", target);
        Map<String, Flow> flows = new LinkedHashMap<>();
        for (String l : out.lines().toList()) {
            if (l.startsWith("OFPST_FLOW reply")) {
                continue;
            }
            Matcher m = LINE.matcher(l);
            assertTrue(m.matches(), "unparsed dump-flows line: " + l + "\n" + out);
            Flow f = new Flow(
                    Integer.parseInt(m.group(1)),
                    Long.parseLong(m.group(2)),
                    Long.parseLong(m.group(3)),
                    m.group(4),
                    m.group(5));
            flows.put(f.match(), f);
        }
        return flows;
    }

    @Test
    void ovsOfctlProgramsTheBridgeAndTheFlowsSteerTraffic() throws Exception {
        OvsOfctl.require();
        try (PacketPool pool = PacketPool.create(PoolConfig.defaults());
                Vswitch v = EmptyVswitch.start(pool);
                Netns net = new Netns()) {
            v.addBridge(BridgeConfig.of("br0"));
            String a = net.add(v, "br0", 0, "a", "198.18.0.1/24");
            String b = net.add(v, "br0", 1, "b", "198.18.0.2/24");
            String c = net.add(v, "br0", 2, "c", "198.18.0.3/24");
            v.setController("br0", List.of("ptcp:0"));
            Views.ControllerView ctl = v.controllers("br0").getFirst();
            assertEquals("listening", ctl.state());
            assertTrue(ctl.address().startsWith("127.0.0.1:"), ctl.address());
            String target = "tcp:" + ctl.address();
            assertEquals(List.of("ptcp:0"), v.config().bridges().getFirst().controllers());

            // show: the datapath id from the bridge's name, the ports by their ofport numbers
            String show = OvsOfctl.ok("show", target);
            assertTrue(show.contains(String.format("dpid:%016x", VswitchDatapath.datapathId("br0"))), show);
            assertTrue(show.contains("n_tables:64"), show);
            Map<String, Integer> ofport = new LinkedHashMap<>();
            for (Views.PortView p : v.show().bridges().getFirst().ports()) {
                ofport.put(p.name(), p.id());
                assertTrue(
                        show.contains(" " + p.id() + "(" + p.name() + "): addr:"
                                + p.mac().toLowerCase()),
                        show);
            }
            assertEquals(List.of(1, 2, 3), List.copyOf(ofport.values()));
            String desc = OvsOfctl.ok("dump-ports-desc", target);
            assertTrue(desc.contains(" 3(c): addr:"), desc);
            String tables = OvsOfctl.ok("dump-tables", target);
            assertTrue(tables.contains("table 0:\n    active=0, lookup=0, matched=0"), tables);
            assertTrue(tables.contains("tables 1...63: ditto"), tables);

            // the flows: a table-miss drop, ARP flooded, a→b and b→a by IP (b's with a mask), c
            // dropped by a priority-60 flow that shadows a priority-40 one to a
            Path file = Files.createTempFile("panda-flows", ".txt");
            Files.writeString(file, """
                    priority=0,actions=drop
                    priority=100,arp,actions=FLOOD
                    priority=50,ip,in_port=1,nw_dst=198.18.0.2,actions=output:2
                    priority=50,ip,in_port=2,nw_dst=198.18.0.0/25,actions=output:1
                    priority=60,ip,in_port=3,actions=drop
                    priority=40,ip,in_port=3,nw_dst=198.18.0.1,actions=output:1
                    """);
            try {
                OvsOfctl.ok("add-flows", target, file.toString());
            } finally {
                Files.delete(file);
            }
            OvsOfctl.ok("add-flow", target, "priority=40,ip,in_port=1,nw_dst=198.18.0.3,actions=output:3");
            Map<String, Flow> flows = dump(target);
            assertEquals(
                    List.of(
                            "priority=100,arp",
                            "priority=60,ip,in_port=3",
                            "priority=50,ip,in_port=1,nw_dst=198.18.0.2",
                            "priority=50,ip,in_port=2,nw_dst=198.18.0.0/25",
                            "priority=40,ip,in_port=3,nw_dst=198.18.0.1",
                            "priority=40,ip,in_port=1,nw_dst=198.18.0.3",
                            "priority=0"),
                    List.copyOf(flows.keySet()),
                    "dump-flows lists what was installed, highest priority first");
            assertEquals("FLOOD", flows.get("priority=100,arp").actions());
            assertEquals(
                    "output:2",
                    flows.get("priority=50,ip,in_port=1,nw_dst=198.18.0.2").actions());
            assertEquals("drop", flows.get("priority=60,ip,in_port=3").actions());
            flows.values().forEach(f -> assertEquals(0, f.packets(), f.toString()));

            // a pings b: 5 requests by the first flow, 5 replies by the masked one, 98 bytes each
            assertEquals(0, Netns.ping(a, "198.18.0.2", 5), "a reaches b");
            // c pings a: dropped by priority 60, although priority 40 would forward
            assertNotEquals(0, Netns.ping(c, "198.18.0.1", 3), "c's pings are dropped");
            flows = dump(target);
            System.out.println("dump-flows after the pings:\n" + flows.values());
            assertEquals(
                    5, flows.get("priority=50,ip,in_port=1,nw_dst=198.18.0.2").packets());
            assertEquals(
                    5 * 98,
                    flows.get("priority=50,ip,in_port=1,nw_dst=198.18.0.2").bytes());
            assertEquals(
                    5,
                    flows.get("priority=50,ip,in_port=2,nw_dst=198.18.0.0/25").packets());
            assertEquals(3, flows.get("priority=60,ip,in_port=3").packets());
            assertEquals(3 * 98, flows.get("priority=60,ip,in_port=3").bytes());
            assertEquals(
                    0, flows.get("priority=40,ip,in_port=3,nw_dst=198.18.0.1").packets());
            assertTrue(flows.get("priority=100,arp").packets() >= 2, flows.toString());

            tables = OvsOfctl.ok("dump-tables", target);
            Matcher tm = Pattern.compile("table 0:\\n    active=7, lookup=(\\d+), matched=(\\d+)")
                    .matcher(tables);
            assertTrue(tm.find(), tables);
            assertTrue(Long.parseLong(tm.group(1)) >= 13, tables); // at least the 13 IP packets and some ARP

            // del-flows --strict removes exactly the priority-60 flow: c now reaches a by priority 40
            OvsOfctl.ok("del-flows", target, "--strict", "priority=60,ip,in_port=3");
            flows = dump(target);
            assertEquals(6, flows.size(), flows.toString());
            assertEquals(0, Netns.ping(c, "198.18.0.1", 3), "c reaches a once the shadowing flow is gone");
            flows = dump(target);
            assertEquals(
                    3, flows.get("priority=40,ip,in_port=3,nw_dst=198.18.0.1").packets());
            assertEquals(
                    3, flows.get("priority=40,ip,in_port=1,nw_dst=198.18.0.3").packets());

            // mod-flows turns a→b into a drop; counters stay
            OvsOfctl.ok("mod-flows", target, "ip,in_port=1,nw_dst=198.18.0.2,actions=drop");
            flows = dump(target);
            assertEquals(
                    "drop",
                    flows.get("priority=50,ip,in_port=1,nw_dst=198.18.0.2").actions());
            assertEquals(
                    5, flows.get("priority=50,ip,in_port=1,nw_dst=198.18.0.2").packets());
            assertNotEquals(0, Netns.ping(a, "198.18.0.2", 2), "a no longer reaches b");
            assertEquals(
                    7,
                    dump(target)
                            .get("priority=50,ip,in_port=1,nw_dst=198.18.0.2")
                            .packets());

            // dump-ports agrees with the vswitch's own counters (read around it)
            Views.Stats before = v.stats(null);
            String ports = OvsOfctl.ok("dump-ports", target);
            Views.Stats after = v.stats(null);
            for (int i = 0; i < 3; i++) {
                Views.PortStatsView s0 = before.ports().get(i);
                Views.PortStatsView s1 = after.ports().get(i);
                Matcher m = Pattern.compile("port +" + ofport.get(s0.port()) + ": rx pkts=(\\d+), bytes=(\\d+)")
                        .matcher(ports);
                assertTrue(m.find(), ports);
                long rx = Long.parseLong(m.group(1));
                assertTrue(rx >= s0.rxPackets() && rx <= s1.rxPackets(), s0 + " " + ports);
                assertTrue(rx > 0, ports);
            }

            // packet-out: ovs-ofctl sends it and a barrier, and exits on the barrier's reply, by
            // which time the frame is on b (a reply waits for the PACKET_OUTs before it)
            String frame = "ffffffffffff" + "020000000001" + "88b5" + "00".repeat(46);
            long bTx = v.stats("b").ports().get(0).txPackets();
            OvsOfctl.ok("packet-out", target, "in_port=1,packet=" + frame + ",actions=output:2");
            assertTrue(
                    v.stats("b").ports().get(0).txPackets() >= bTx + 1,
                    "the packet-out was sent before ovs-ofctl's barrier was answered");

            // del-flows: no flows, the bridge is a learning bridge again (standalone, no controller)
            OvsOfctl.ok("del-flows", target);
            assertEquals(Map.of(), dump(target));
            assertEquals(0, Netns.ping(a, "198.18.0.2", 2), "NORMAL again without flows");

            v.setController("br0", List.of());
            assertEquals(List.of(), v.controllers("br0"));
            assertNotEquals(0, OvsOfctl.run("show", target).status(), "the listener is closed");
        }
    }
}
