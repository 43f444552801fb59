package dev.panda.vswitch.datapath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.Views;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.flow.Action;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FlowFilter;
import dev.panda.vswitch.flow.FlowMod;
import dev.panda.vswitch.flow.FlowStats;
import dev.panda.vswitch.flow.FlowText;
import dev.panda.vswitch.flow.OfPort;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Flow tables on a running vswitch (ring ports), in both execution modes. */
class FlowBridgeTest {

    static final long A = BridgeTest.A, B = BridgeTest.B, C = BridgeTest.C;

    private static void add(BridgeFlows f, String flow) {
        var r = f.apply(FlowText.parse(flow, FlowMod.Command.ADD));
        assertTrue(r.isOk(), () -> flow + ": " + r.message());
    }

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void flowsSteerAndCountAndFailModeDecidesTheMiss(PmdConfig.Mode mode) throws Exception {
        try (Hosts hs = new Hosts(mode)) {
            var a = hs.host();
            var b = hs.host();
            var c = hs.host();
            hs.vswitch.addBridge(BridgeConfig.of("br0"));
            hs.vswitch.addPort("br0", PortConfig.of("a", a.device)); // port 1
            hs.vswitch.addPort("br0", PortConfig.of("b", b.device)); // port 2
            hs.vswitch.addPort("br0", PortConfig.of("c", c.device)); // port 3
            BridgeFlows f = hs.vswitch.flows("br0");
            assertFalse(f.engaged(), "no flows, standalone: plain learning bridge");

            // everything from a goes to c, whatever its destination; b's frames follow NORMAL
            add(f, "priority=100,in_port=1,actions=output:3");
            add(f, "priority=50,in_port=2,actions=NORMAL");
            assertTrue(f.engaged());
            for (int i = 0; i < 5; i++) {
                a.send(B, A, 0, 50);
            }
            assertEquals(5, c.receive(300).size());
            assertEquals(0, b.receive(100).size());
            b.send(A, B, 0, 50); // NORMAL: A unknown to the FDB (flows bypassed learning): flooded
            assertEquals(1, a.receive(300).size());
            assertEquals(1, c.receive(100).size());

            List<FlowStats> flows = f.flows(FlowFilter.ALL);
            assertEquals(2, flows.size());
            assertEquals(100, flows.get(0).priority());
            assertEquals(5, flows.get(0).packets());
            assertEquals(5 * 64, flows.get(0).bytes());
            assertEquals(1, flows.get(1).packets());

            // c has no flow: standalone without a controller = NORMAL (B learned on b)
            c.send(B, C, 0, 50);
            assertEquals(1, b.receive(300).size());
            assertEquals(0, a.receive(100).size());
            // secure: the miss drops
            hs.vswitch.setFailMode("br0", "secure");
            c.send(B, C, 0, 50);
            assertEquals(0, b.receive(200).size());
            assertEquals("secure", hs.vswitch.config().bridges().get(0).failMode());

            // VLAN push with set_field, then pop: b receives tag 42 from a
            add(
                    f,
                    "priority=200,in_port=1,dl_dst=02:00:00:00:00:0b,actions=push_vlan:0x8100,set_field:4138->vlan_vid,output:2");
            a.send(B, A, 0, 50);
            List<byte[]> got = b.receive(300);
            assertEquals(1, got.size());
            assertEquals(42, Hosts.vid(got.get(0)));
            assertEquals(68, got.get(0).length);

            // pmd-stats: the flow cache was used; table 0 saw lookups
            long hits = 0, misses = 0;
            for (Views.PmdStatsView p : hs.vswitch.pmdStats()) {
                if (p.flowCacheHits() != null) {
                    hits += p.flowCacheHits();
                    misses += p.flowCacheMisses();
                }
            }
            assertTrue(hits > 0, "cache hits " + hits);
            assertTrue(misses > 0, "cache misses " + misses);
            Views.FlowTableView t0 = hs.vswitch.flowTables().get(0);
            assertEquals(0, t0.table());
            assertEquals(3, t0.active());
            assertEquals(hits + misses, t0.lookups());

            // packet-out from the controller port to b and to the tables (in_port=1: to c)
            long bTx = hs.vswitch.stats("b").ports().get(0).txPackets();
            assertNull(f.packetOut(OfPort.CONTROLLER, Hosts.frame(B, C, 0, 50), List.of(new Action.Output(2))));
            long mark = f.packetOutMark();
            long until = System.currentTimeMillis() + 3000;
            while (f.packetOutsSent() < mark && System.currentTimeMillis() < until) {
                Thread.onSpinWait();
            }
            // what a BARRIER_REPLY waits for: once the data path says so, the frame is on b
            assertTrue(f.packetOutsSent() >= mark, "sent " + f.packetOutsSent() + " of " + mark);
            assertEquals(bTx + 1, hs.vswitch.stats("b").ports().get(0).txPackets());
            assertEquals(1, b.receive(300).size());
            assertNull(f.packetOut(1, Hosts.frame(A, C, 0, 50), List.of(new Action.Output(OfPort.TABLE))));
            assertEquals(1, c.receive(300).size());

            // deleting every flow in standalone without controller: the learning bridge again
            hs.vswitch.setFailMode("br0", "standalone");
            f.apply(FlowMod.delete(FlowMod.ALL_TABLES, null));
            assertFalse(f.engaged());
            a.send(B, A, 0, 50);
            assertEquals(1, b.receive(300).size());
        }
    }

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void packetInsReachTheControlSide(PmdConfig.Mode mode) throws Exception {
        try (Hosts hs = new Hosts(mode)) {
            var a = hs.host();
            var b = hs.host();
            hs.vswitch.addBridge(BridgeConfig.of("br0"));
            hs.vswitch.addPort("br0", PortConfig.of("a", a.device));
            hs.vswitch.addPort("br0", PortConfig.of("b", b.device));
            BridgeFlows f = hs.vswitch.flows("br0");
            f.setControllerConnected(true);
            add(f, "priority=0,actions=CONTROLLER:65535");
            a.send(B, A, 0, 50);
            a.send(B, A, 0, 100);
            List<String> seen = new ArrayList<>();
            long end = System.currentTimeMillis() + 3000;
            while (seen.size() < 2 && System.currentTimeMillis() < end) {
                f.drainPacketIns((port, tun, table, reason, cookie, total, data, len) ->
                        seen.add(port + "/" + reason + "/" + total + "/" + len));
                Thread.sleep(5);
            }
            assertEquals(List.of("1/NO_MATCH/64/64", "1/NO_MATCH/114/114"), seen);
            assertEquals(0, b.receive(100).size(), "a controller is connected: nothing else happens");
        }
    }
}
