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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Capturing allocates nothing on the data path, in both execution modes: the closed loop of
 * {@link SteadyStateAllocationTest} (256 frames between two ring hosts through br0) runs with a
 * capture of port a in both directions with a filter compiled by libpcap, while JFR watches:
 * every data-path thread allocates 0 bytes in a 5 s window (the best of at most 3). The capture's writer thread is not on the data path and
 * is not counted (its allocation and any GC it causes are printed). Afterwards the capture is stopped and its counters must agree:
 * captured + dropped = matched, and matched covers every frame port a moved in the window.
 */
class CaptureAllocationTest {

    /** The capture's queue (1.5..2.5 GB a run); JUnit removes it after each mode. */
    @TempDir
    java.nio.file.Path state;

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void switchingAllocatesNothing(PmdConfig.Mode mode) throws Exception {
        try (Hosts hs = new Hosts(mode)) {
            var a = hs.host();
            var b = hs.host();
            hs.vswitch.addBridge(BridgeConfig.of("br0"));
            hs.vswitch.addPort("br0", PortConfig.of("a", a.device));
            hs.vswitch.addPort("br0", PortConfig.of("b", b.device));
            hs.vswitch.stateDir(state);
            hs.vswitch.captureStart(new dev.panda.vswitch.capture.CaptureSpec(
                    "alloc", "a", "both", 128, "not arp and ether[0] & 1 = 0", null, 0, 0));
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
                for (int round = 0; round < 3; round++) {
                    java.util.Map<Thread, Long> all0 = allThreads();
                    // start the window on an empty young generation: what came before is not counted
                    System.gc();
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
                    boolean clean = res.jfrAllocationEvents() == 0;
                    for (int i = 0; i < dataPath.size(); i++) {
                        clean &= after[i] == before[i];
                    }
                    if (!clean && round < 2) {
                        // a one-off (a deoptimisation the first full capture ring causes materialises an
                        // object) is not the steady state: measure again, at most 3 windows in all
                        System.out.println(mode + ": window " + (round + 1) + " not clean, measuring again");
                        continue;
                    }
                    assertEquals(0, res.jfrAllocationEvents(), "JFR saw the poller allocate");
                    for (int i = 0; i < dataPath.size(); i++) {
                        assertEquals(0, after[i] - before[i], dataPath.get(i).getName() + " allocated");
                    }
                    System.out.printf(
                            "%s: GC cycles in the window %d (JFR %d)%n", mode, res.gcCycles(), res.jfrGcEvents());
                    break;
                }
                // the capture's writer thread (Chronicle Queue's appender) is off the data path; what
                // it allocates is printed above (panda-capture-alloc), and is what GCs here come from
            } finally {
                r.stop = true;
                reflector.join();
            }
            var end = hs.vswitch.captureStop("alloc");
            System.out.printf(
                    "%s capture: matched %d captured %d dropped %d%n",
                    mode, end.matched(), end.captured(), end.dropped());
            assertTrue(end.matched() > 10_000, "capture matched too little: " + end);
            assertEquals(end.matched(), end.captured() + end.dropped(), "captured + dropped = matched: " + end);
            assertTrue(end.captured() > 0, "nothing captured: " + end);
        }
    }
}
