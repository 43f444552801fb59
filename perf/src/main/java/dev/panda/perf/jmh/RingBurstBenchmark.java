package dev.panda.perf.jmh;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.ports.ring.SpscIntRing;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One thread pushing bursts through a ring and back out: the bare {@link SpscIntRing} (offer then
 * poll), and the same through a loopback {@code net_ring} port (txBurst then rxBurst, which also
 * reads every packet's length from the pool for the byte counters).
 *
 * <p>Every invocation moves {@value #PACKETS} packets, as {@code PACKETS / burst} bursts, so the
 * score is ns per packet whatever the burst.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class RingBurstBenchmark {

    static final int PACKETS = 256;

    @Param({"32", "256"})
    public int burst;

    private int rounds;
    private SpscIntRing ring;
    private int[] src;
    private int[] dst;

    private PacketPool pool;
    private Port port;
    private PacketBurst tx;
    private PacketBurst rx;

    @Setup(Level.Trial)
    public void setUp() {
        rounds = PACKETS / burst;
        ring = new SpscIntRing("bench", 1024);
        src = new int[burst];
        dst = new int[burst];
        for (int i = 0; i < burst; i++) {
            src[i] = i;
        }
        pool = BenchSetup.pool();
        port = BenchSetup.loopbackRing("net_ring80", pool);
        tx = new PacketBurst(burst);
        rx = new PacketBurst(burst);
        if (pool.allocBulk(tx.handles, 0, burst) != burst) {
            throw new IllegalStateException("pool too small for a burst of " + burst);
        }
        for (int i = 0; i < burst; i++) {
            pool.setLength(tx.handles[i], 64);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        port.close();
        pool.freeBulk(tx.handles, 0, burst);
        BenchSetup.checkPool(pool, "RingBurstBenchmark");
        pool.close();
    }

    @Benchmark
    @OperationsPerInvocation(PACKETS)
    public int spscOfferPoll() {
        int moved = 0;
        for (int r = 0; r < rounds; r++) {
            int k = ring.offer(src, 0, burst);
            moved += ring.poll(dst, 0, k);
        }
        return moved;
    }

    /** The handles come back in the same order, so {@code tx.handles} stays valid for the next round. */
    @Benchmark
    @OperationsPerInvocation(PACKETS)
    public int ringPortTxRx() {
        int moved = 0;
        for (int r = 0; r < rounds; r++) {
            port.txBurst(0, tx, burst);
            moved += port.rxBurst(0, rx);
        }
        return moved;
    }
}
