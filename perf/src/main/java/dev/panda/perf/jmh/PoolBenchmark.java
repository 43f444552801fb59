package dev.panda.perf.jmh;

import dev.panda.dataplane.mem.PacketPool;
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
 * {@link PacketPool} allocation and release of a burst of {@value #BURST} buffers: the bulk calls
 * (one lock per burst) against {@value #BURST} single {@code alloc()}s then {@value #BURST}
 * {@code free()}s (one lock per buffer). Scores are ns per buffer (one alloc plus one free).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class PoolBenchmark {

    static final int BURST = 32;

    private PacketPool pool;
    private final int[] handles = new int[BURST];

    @Setup(Level.Trial)
    public void setUp() {
        pool = BenchSetup.pool();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        BenchSetup.checkPool(pool, "PoolBenchmark");
        pool.close();
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int allocBulkFreeBulk() {
        int n = pool.allocBulk(handles, 0, BURST);
        pool.freeBulk(handles, 0, n);
        return n;
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int allocFreeSingle() {
        int[] h = handles;
        for (int i = 0; i < BURST; i++) {
            h[i] = pool.alloc();
        }
        for (int i = 0; i < BURST; i++) {
            pool.free(h[i]);
        }
        return h[BURST - 1];
    }
}
