package dev.panda.vswitch.vxlan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.dataplane.testing.AllocationWatch;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Tunnels allocate nothing per packet, in both modes: two vswitches in one process joined by a
 * VXLAN tunnel over a ring-pair underlay carry a closed loop of 256 frames between a host on each
 * (each host swaps the MACs and sends back what it receives); once the threads have settled, no
 * data-path thread (pollers, pipeline stages) allocates a byte in a 3-s window (of at most three:
 * the JIT may allocate once; a per-packet allocation shows in every window) while hundreds of
 * thousands of frames are encapsulated and decapsulated.
 */
class VxlanSteadyStateAllocationTest {

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final long MAC_A = 0x02_00_00_00_0a_01L;
    private static final long MAC_B = 0x02_00_00_00_0b_01L;

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void tunnelsAllocateNothing(PmdConfig.Mode mode) throws Exception {
        PacketPool pool = PacketPool.create(PoolConfig.defaults().withCount(8192));
        Ports ports = Ports.discover();
        int base = 800 + mode.ordinal() * 10;
        Port hostA = ports.open("net_ring" + base, PortContext.of(pool, 0));
        Port hostB = ports.open("net_ring" + (base + 1), PortContext.of(pool, 0));
        PmdConfig pmd = new PmdConfig(List.of(), mode, "yield", null, 256);
        Vswitch va = Vswitch.start(new VswitchConfig(pmd, List.of()), pool, new int[] {0}, false);
        Vswitch vb = Vswitch.start(new VswitchConfig(pmd, List.of()), pool, new int[] {0}, false);
        Reflector r = new Reflector(pool, new Port[] {hostA, hostB});
        Thread reflector = Thread.ofPlatform().name("reflector").daemon(true).unstarted(r);
        try {
            for (Vswitch v : List.of(va, vb)) {
                v.addBridge(BridgeConfig.of("br0"));
            }
            va.addPort("br0", PortConfig.of("h", "net_ring" + (base + 1000) + ",peer=net_ring" + base));
            vb.addPort("br0", PortConfig.of("h", "net_ring" + (base + 1001) + ",peer=net_ring" + (base + 1)));
            va.addPort("br0", VxlanRingTest.tunnel("vx", 42, "198.18.1.1", "198.18.1.2", "net_ring" + (base + 5)));
            vb.addPort(
                    "br0",
                    VxlanRingTest.tunnel(
                            "vx",
                            42,
                            "198.18.1.2",
                            "198.18.1.1",
                            "net_ring" + (base + 6) + ",peer=net_ring" + (base + 5)));
            // ARP resolves, both hosts are learned, then 256 frames go round
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (vb.stats("h").ports().get(0).txPackets() == 0 && System.nanoTime() < deadline) {
                send(pool, hostA, MAC_B, MAC_A);
                Thread.sleep(100);
                drain(pool, hostB);
            }
            send(pool, hostB, MAC_A, MAC_B);
            Thread.sleep(200);
            drain(pool, hostA);
            for (int i = 0; i < 256; i++) {
                send(pool, hostA, MAC_B, MAC_A);
            }
            reflector.start();
            List<Thread> dataPath = dataPathThreads();
            assertEquals(mode == PmdConfig.Mode.RTC ? 2 : 6, dataPath.size(), dataPath.toString());
            for (Thread t : dataPath) {
                AllocationWatch.settle(t, 60);
            }
            // a per-packet allocation shows in every window; the JIT finishing a compile, once
            StringBuilder windows = new StringBuilder();
            boolean clean = false;
            for (int w = 0; w < 3 && !clean; w++) {
                long p0 = va.stats("vx").ports().get(0).txPackets();
                Map<Thread, Long> before = allocated(dataPath);
                Thread.sleep(3000);
                Map<Thread, Long> after = allocated(dataPath);
                long packets = va.stats("vx").ports().get(0).txPackets() - p0;
                Map<String, Long> d = delta(before, after);
                windows.append(packets).append(" frames, allocated ").append(d).append("; ");
                assertTrue(packets > 10_000, "loop too slow to show anything: " + packets);
                clean = d.values().stream().allMatch(v -> v == 0);
            }
            System.out.println(mode + ": 3-s windows: " + windows);
            assertTrue(clean, "data-path threads allocated in every window: " + windows);
        } finally {
            r.stop = true;
            if (reflector.isAlive()) {
                reflector.join();
            }
            va.close();
            vb.close();
            hostA.close();
            hostB.close();
            pool.close();
        }
    }

    private static Map<String, Long> delta(Map<Thread, Long> a, Map<Thread, Long> b) {
        Map<String, Long> m = new LinkedHashMap<>();
        b.forEach((t, n) -> m.merge(t.getName(), n - a.get(t), Long::sum));
        return m;
    }

    private static List<Thread> dataPathThreads() {
        List<Thread> l = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("lcore-") || t.getName().startsWith("pmd-")) {
                l.add(t);
            }
        }
        return l;
    }

    private static Map<Thread, Long> allocated(List<Thread> ts) {
        Map<Thread, Long> m = new LinkedHashMap<>();
        for (Thread t : ts) {
            m.put(t, THREADS.getThreadAllocatedBytes(t.threadId()));
        }
        return m;
    }

    private static void send(PacketPool pool, Port p, long dst, long src) {
        int h = pool.alloc();
        MemorySegment seg = pool.segment();
        long off = pool.dataOffset(h);
        for (int i = 0; i < 6; i++) {
            seg.set(ValueLayout.JAVA_BYTE, off + i, (byte) (dst >>> (40 - 8 * i)));
            seg.set(ValueLayout.JAVA_BYTE, off + 6 + i, (byte) (src >>> (40 - 8 * i)));
        }
        seg.set(ValueLayout.JAVA_BYTE, off + 12, (byte) 0x88);
        seg.set(ValueLayout.JAVA_BYTE, off + 13, (byte) 0xb5);
        pool.setLength(h, 64);
        PacketBurst b = new PacketBurst(1);
        b.handles[0] = h;
        while (p.txBurst(0, b, 1) != 1) {
            Thread.yield();
        }
    }

    private static void drain(PacketPool pool, Port p) {
        PacketBurst b = new PacketBurst(32);
        int n;
        while ((n = p.rxBurst(0, b)) > 0) {
            pool.freeBulk(b.handles, 0, n);
        }
    }

    /** Each host sends back what it receives with source and destination MACs swapped. */
    private static final class Reflector implements Runnable {
        final PacketPool pool;
        final Port[] hosts;
        final PacketBurst burst = new PacketBurst(32);
        volatile boolean stop;

        Reflector(PacketPool pool, Port[] hosts) {
            this.pool = pool;
            this.hosts = hosts;
        }

        @Override
        public void run() {
            MemorySegment seg = pool.segment();
            while (!stop) {
                int moved = 0;
                for (Port h : hosts) {
                    int n = h.rxBurst(0, burst);
                    for (int i = 0; i < n; i++) {
                        long off = pool.dataOffset(burst.handles[i]);
                        for (int k = 0; k < 6; k++) {
                            byte d = seg.get(ValueLayout.JAVA_BYTE, off + k);
                            seg.set(ValueLayout.JAVA_BYTE, off + k, seg.get(ValueLayout.JAVA_BYTE, off + 6 + k));
                            seg.set(ValueLayout.JAVA_BYTE, off + 6 + k, d);
                        }
                    }
                    int sent = 0;
                    while (sent < n && !stop) {
                        if (sent > 0) {
                            System.arraycopy(burst.handles, sent, burst.handles, 0, n - sent);
                        }
                        int k = h.txBurst(0, burst, n - sent);
                        sent += k;
                        if (k == 0) {
                            Thread.yield();
                        }
                    }
                    moved += n;
                }
                if (moved == 0) {
                    Thread.yield();
                }
            }
        }
    }
}
