package dev.panda.vswitch.datapath;

import static dev.panda.vswitch.datapath.DataPathAllocation.allThreads;
import static dev.panda.vswitch.datapath.DataPathAllocation.allocated;
import static dev.panda.vswitch.datapath.DataPathAllocation.dataPathThreads;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.testing.AllocationWatch;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FlowMod;
import dev.panda.vswitch.flow.FlowText;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A bridge in flow mode allocates nothing per packet, in both execution modes: the closed loop of
 * {@link SteadyStateAllocationTest} (256 frames between two ring-port hosts that send back what
 * they receive) runs through OpenFlow tables instead of the learning bridge: goto-table, a
 * set_field, outputs, and a copy of every frame to CONTROLLER into the PACKET_IN ring (which
 * fills and then drops and counts), with the exact-match cache and the classifier both used;
 * every data-path thread allocates 0 bytes and no GC runs.
 */
class FlowSteadyStateAllocationTest {

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void flowTablesAllocateNothing(PmdConfig.Mode mode) throws Exception {
        try (Hosts hs = new Hosts(mode)) {
            var a = hs.host();
            var b = hs.host();
            hs.vswitch.addBridge(BridgeConfig.of("br0"));
            hs.vswitch.addPort("br0", PortConfig.of("a", a.device));
            hs.vswitch.addPort("br0", PortConfig.of("b", b.device));
            BridgeFlows f = hs.vswitch.flows("br0");
            hs.vswitch.setFailMode("br0", "secure");
            f.setControllerConnected(true);
            for (String flow : List.of(
                    "table=0,priority=10,in_port=1,actions=goto_table:1",
                    "table=0,priority=10,in_port=2,actions=goto_table:1",
                    "table=0,priority=5,dl_type=0x0806,actions=drop",
                    "table=1,priority=20,in_port=1,dl_type=0x0800,actions=set_field:02:00:00:00:00:0a->eth_src,output:2",
                    "table=1,priority=20,in_port=2,dl_dst=02:00:00:00:00:0a/ff:ff:ff:00:00:00,"
                            + "actions=CONTROLLER:32,write_actions(output:1)")) {
                var res = f.apply(FlowText.parse(flow, FlowMod.Command.ADD));
                assertTrue(res.isOk(), flow + ": " + res.message());
            }
            for (int i = 0; i < 256; i++) {
                a.send(BridgeTest.B, BridgeTest.A, 0, 46);
            }
            Reflector r = new Reflector(hs, new Hosts.Host[] {a, b});
            Thread reflector =
                    Thread.ofPlatform().name("reflector").daemon(true).start(r);
            try {
                List<Thread> dataPath = dataPathThreads(mode);
                Thread poller = dataPath.get(0);
                for (Thread t : dataPath) {
                    AllocationWatch.settle(t, 60);
                }
                AllocationWatch.settle(reflector, 60);
                java.util.Map<Thread, Long> all0 = allThreads();
                System.gc(); // start the window on an empty young generation: what the test did before is not counted
                long[] before = allocated(dataPath);
                hs.vswitch.clearPmdStats();
                long p0 = hs.vswitch.stats("b").ports().get(0).txPackets();
                AllocationWatch.Result res;
                try (AllocationWatch w = AllocationWatch.start(poller)) {
                    Thread.sleep(5000);
                    res = w.stop();
                }
                long[] after = allocated(dataPath);
                StringBuilder who = new StringBuilder();
                allThreads().forEach((t, n) -> {
                    long d = n - all0.getOrDefault(t, 0L);
                    if (d > 0) {
                        who.append(t.getName()).append('=').append(d).append(' ');
                    }
                });
                System.out.println("allocated in the window by: " + who);
                for (var pmd : hs.vswitch.pmdStats()) {
                    System.out.printf(
                            "%s %s: %d packets, busy %.1f ns/packet (%.0f cycles)%n",
                            mode, pmd.pmd(), pmd.packets(), pmd.busyNsPerPacket(), pmd.busyCyclesPerPacket());
                }
                long packets = hs.vswitch.stats("b").ports().get(0).txPackets() - p0;
                System.out.printf(
                        "%s: %d packets to b in %.1f s, poller allocated %d B, JFR events %d, GC %d/%d, threads %s%n",
                        mode,
                        packets,
                        res.seconds(),
                        res.allocatedBytes(),
                        res.jfrAllocationEvents(),
                        res.gcCycles(),
                        res.jfrGcEvents(),
                        dataPath);
                assertTrue(packets > 10_000, "loop too slow to show anything: " + packets);
                assertEquals(0, res.jfrAllocationEvents(), "JFR saw the poller allocate");
                for (int i = 0; i < dataPath.size(); i++) {
                    assertEquals(0, after[i] - before[i], dataPath.get(i).getName() + " allocated");
                }
                assertEquals(0, res.gcCycles(), "GC cycles while switching");
                long flowPackets =
                        f.aggregate(dev.panda.vswitch.flow.FlowFilter.ALL).packets();
                System.out.printf(
                        "%s: flows counted %d packets, packet-ins queued %d dropped %d%n",
                        mode, flowPackets, f.packetInsQueued(), f.packetInsDropped());
                assertTrue(flowPackets > 10_000, "the flows counted " + flowPackets);
                assertTrue(f.packetInsDropped() > 0, "the PACKET_IN ring filled and dropped");
                assertEquals(0, res.jfrGcEvents(), "GC cycles recorded by JFR while switching");
            } finally {
                r.stop = true;
                reflector.join();
            }
        }
    }
}
