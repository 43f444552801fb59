package dev.panda.xdp.afxdp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.testing.AllocationWatch;
import dev.panda.dataplane.testing.VethPair;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The AF_XDP receive path allocates nothing in steady state: a poller receives and frees a
 * continuous stream (one UDP frame sent again and again from an AF_PACKET socket in the peer's
 * namespace, {@link VethPair#streamRaw}; XDP live frames, which {@code panda perf xdp-rxdrop}
 * uses, are refused with EPERM by some kernels, this machine's 6.18 among them) while JFR watches
 * its allocations and every GC and the JVM counts its allocated bytes; with the default fill
 * batching, with a refill on every poll, and with busy polling (a recvfrom per empty poll). Needs
 * root (veth pair).
 */
class AfXdpSteadyStateAllocationTest {

    @RegisterExtension
    static final VethPair.PerClass VETH = new VethPair.PerClass();

    private static final long WARM_UP_MS = 3000;
    private static final long WINDOW_MS = 5000;

    private volatile boolean stop;
    private volatile long received;

    @ParameterizedTest
    @ValueSource(strings = {"", ",fill_batch=0", ",busy_budget=64"})
    void receivingAllocatesNothingInSteadyState(String extra) throws Exception {
        VethPair veth = VETH.get();
        stop = false;
        try (PacketPool pool =
                PacketPool.create(PoolConfig.defaults().withCount(8192).withHugepages(PoolConfig.Hugepages.OFF))) {
            AfXdpPort port = AfXdpFixture.open(veth, pool, ",mode=native,zerocopy=0" + extra);
            Process gen = null;
            Thread poller = new Thread(
                    () -> {
                        PacketBurst b = new PacketBurst(64);
                        long n = 0;
                        while (!stop) {
                            int k = port.rxBurst(0, b);
                            if (k > 0) {
                                pool.freeBulk(b.handles, 0, k);
                                n += k;
                                received = n;
                            }
                        }
                    },
                    "afxdp-poller");
            try {
                gen = veth.streamRaw(veth.udpToHost(7000, 9000, 0, 18));
                poller.start();
                Thread.sleep(WARM_UP_MS);
                AllocationWatch.settle(poller, 60);
                try (AllocationWatch watch = AllocationWatch.start(poller)) {
                    long p0 = received;
                    Thread.sleep(WINDOW_MS);
                    AllocationWatch.Result r = watch.stop();
                    long packets = received - p0;
                    System.out.printf(
                            "net_af_xdp%s: %d packets in %d ms, poller CPU %.0f ns/packet, allocated %d B, GC %d"
                                    + " (JFR %d), JFR allocation events %d%n",
                            extra,
                            packets,
                            WINDOW_MS,
                            (double) r.cpuNanos() / Math.max(1, packets),
                            r.allocatedBytes(),
                            r.gcCycles(),
                            r.jfrGcEvents(),
                            r.jfrAllocationEvents());
                    Process sender = gen;
                    assertTrue(sender.isAlive(), () -> "the sender in the namespace exited: " + sender.exitValue());
                    assertTrue(packets > 10_000, "receiving too slow to show anything: " + packets);
                    assertEquals(0, r.jfrAllocationEvents(), "JFR saw the poller allocate");
                    assertEquals(
                            0,
                            r.allocatedBytes(),
                            "the poller allocated " + r.allocatedBytes() + " bytes over " + packets + " packets");
                    assertEquals(0, r.gcCycles(), "GC cycles during steady-state receiving");
                    assertEquals(0, r.jfrGcEvents(), "GC cycles recorded by JFR");
                }
            } finally {
                stop = true;
                poller.join();
                if (gen != null) {
                    // ip netns exec execs python3, so this PID is the sender's own
                    gen.destroy();
                    if (!gen.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                        gen.destroyForcibly().waitFor();
                    }
                }
                port.close();
            }
            assertEquals(pool.capacity(), pool.available(), "close returned every buffer");
        }
    }
}
