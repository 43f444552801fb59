package dev.panda.perf.jmh;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.Ports;
import dev.panda.vswitch.config.VxlanConfig;
import dev.panda.vswitch.vxlan.Underlays;
import dev.panda.vswitch.vxlan.VxlanPort;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Per-packet cost of VXLAN in the vswitch: two tunnel ports (VNI 42, 198.18.0.1 and 198.18.0.2)
 * whose underlays are the two ends of one {@code net_ring} pair, ARP resolved at set-up. Each
 * invocation moves one burst of {@value #BURST} 64-byte inner frames (allocated and written each
 * time, as a bridge would hand them over):
 *
 * <ul>
 *   <li>{@code ring}: the baseline, the same frames over a bare {@code net_ring} pair (tx, rx, free);
 *   <li>{@code encap}: tunnel A's {@code txBurst} (flow hash, outer headers into the headroom, IPv4
 *       checksum, underlay tx), then B's underlay ring read raw and freed;
 *   <li>{@code encapDecap}: the same, but B's tunnel {@code rxBurst} polls its underlay, checks and
 *       decapsulates each frame by VNI and remote and hands the inner frames out.
 * </ul>
 *
 * <p>encap − ring is the encapsulation's cost, encapDecap − encap the decapsulation's. Scores are ns
 * per packet. Tear-down fails the trial if a frame was dropped or a buffer lost.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class VxlanBenchmark {

    static final int BURST = PacketBurst.DEFAULT_BURST;
    private static final byte[] FRAME = frame();

    PacketPool pool;
    Port ringA;
    Port ringB;
    VxlanPort a;
    VxlanPort b;
    final PacketBurst burst = new PacketBurst(BURST);
    final PacketBurst rx = new PacketBurst(BURST);
    long lost;

    @Setup(Level.Trial)
    public void setUp() throws InterruptedException {
        pool = BenchSetup.pool();
        Ports ports = Ports.discover();
        ringA = ports.open("net_ring880", dev.panda.dataplane.port.PortContext.of(pool, 0));
        ringB = ports.open("net_ring881,peer=net_ring880", dev.panda.dataplane.port.PortContext.of(pool, 0));
        Underlays u = new Underlays(ports, pool);
        a = u.openTunnel("a", new VxlanConfig(42, "198.18.0.1", "198.18.0.2", "net_ring882"), 1);
        b = u.openTunnel("b", new VxlanConfig(42, "198.18.0.2", "198.18.0.1", "net_ring883,peer=net_ring882"), 2);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!(a.resolved() && b.resolved())) {
            if (System.nanoTime() > end) {
                throw new IllegalStateException("ARP did not resolve the tunnels within 5 s");
            }
            a.rxBurst(0, rx);
            b.rxBurst(0, rx);
            Thread.sleep(10);
        }
        lost = a.stats().oerrors();
    }

    private int fill() {
        int n = pool.allocBulk(burst.handles, 0, BURST);
        MemorySegment seg = pool.segment();
        for (int i = 0; i < n; i++) {
            int h = burst.handles[i];
            MemorySegment.copy(FRAME, 0, seg, ValueLayout.JAVA_BYTE, pool.dataOffset(h), FRAME.length);
            pool.setLength(h, FRAME.length);
        }
        return n;
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int ring() {
        int n = fill();
        int sent = ringA.txBurst(0, burst, n);
        pool.freeBulk(burst.handles, sent, n - sent);
        int got = ringB.rxBurst(0, rx);
        pool.freeBulk(rx.handles, 0, got);
        return got;
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int encap() {
        int n = fill();
        a.txBurst(0, burst, n);
        Port under = b.underlay().port();
        int got = under.rxBurst(0, rx);
        pool.freeBulk(rx.handles, 0, got);
        return got;
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int encapDecap() {
        int n = fill();
        a.txBurst(0, burst, n);
        int got = b.rxBurst(0, rx);
        pool.freeBulk(rx.handles, 0, got);
        return got;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        BenchSetup.drain(ringB, pool);
        BenchSetup.drain(b.underlay().port(), pool);
        while (b.rxBurst(0, rx) > 0) {
            pool.freeBulk(rx.handles, 0, rx.size);
        }
        long dropped = 0;
        for (String r : VxlanPort.DROP_NAMES) {
            dropped += a.drops(r) + b.drops(r);
        }
        a.close();
        b.close();
        ringA.close();
        ringB.close();
        if (dropped != 0) {
            throw new IllegalStateException("the tunnels dropped " + dropped + " frames");
        }
        BenchSetup.checkPool(pool, "vxlan");
        pool.close();
    }

    /** A 64-byte inner frame: Ethernet, IPv4, UDP (so the flow hash reads addresses and ports). */
    private static byte[] frame() {
        byte[] f = new byte[64];
        long dst = 0x02_00_00_00_0b_01L, src = 0x02_00_00_00_0a_01L;
        for (int i = 0; i < 6; i++) {
            f[i] = (byte) (dst >>> (40 - 8 * i));
            f[6 + i] = (byte) (src >>> (40 - 8 * i));
        }
        f[12] = 0x08;
        f[14] = 0x45;
        f[17] = 50; // total length
        f[22] = 64;
        f[23] = 17;
        f[26] = (byte) 198;
        f[27] = 18;
        f[28] = 2;
        f[29] = 1;
        f[30] = (byte) 198;
        f[31] = 18;
        f[32] = 2;
        f[33] = 2;
        f[34] = 0x30;
        f[35] = 0x39;
        f[36] = 0x00;
        f[37] = 0x35;
        f[39] = 30;
        return f;
    }
}
