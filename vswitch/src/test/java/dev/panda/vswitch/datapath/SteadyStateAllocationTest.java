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
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The switch allocates nothing per packet, in both execution modes: a closed loop of 256 frames
 * between two hosts on ring ports (each host swaps the MACs of what it receives and sends it
 * back, allocation-free) runs through br0 (learning, lookup, tx) while JFR watches; every
 * data-path thread (the poller, and in the pipeline the classify and tx stages) allocates 0 bytes
 * and no GC runs.
 */
class SteadyStateAllocationTest {

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void switchingAllocatesNothing(PmdConfig.Mode mode) throws Exception {
        try (Hosts hs = new Hosts(mode)) {
            var a = hs.host();
            var b = hs.host();
            hs.vswitch.addBridge(BridgeConfig.of("br0"));
            hs.vswitch.addPort("br0", PortConfig.of("a", a.device));
            hs.vswitch.addPort("br0", PortConfig.of("b", b.device));
            b.send(BridgeTest.A, BridgeTest.B, 0, 46);
            a.receive(200);
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
                assertEquals(0, res.jfrGcEvents(), "GC cycles recorded by JFR while switching");
            } finally {
                r.stop = true;
                reflector.join();
            }
        }
    }
}
