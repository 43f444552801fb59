package dev.panda.perf.jmh;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.pmd.vfio.SoftVirtioNet;
import dev.panda.pmd.vfio.VirtioPciPort;
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
 * net_virtio_pci's per-burst cost without a device: the PMD's own code ({@link VirtioPciPort} on
 * pmd-virtio's driver queues) against rings in ordinary memory laid out exactly as for the PCI
 * device, with pmd-virtio's device side ({@link SoftVirtioNet}) completing the buffers on the
 * same thread. Inside a TCG guest absolute rates mean nothing; this is the figure that does.
 *
 * <ul>
 *   <li>{@code tx}: allocBulk + txBurst (which reclaims the previous burst) + the device
 *       consuming the chains (pop, used entry, publish) without reading them.</li>
 *   <li>{@code rx}: the device completing rx buffers as 64-byte frames without writing them +
 *       rxBurst (harvest, header strip, refill from the pool) + freeBulk.</li>
 *   <li>{@code txRxLoopback}: tx, the device copying each 64-byte frame into an rx buffer, rx.</li>
 * </ul>
 * Scores are ns per packet ({@value #PACKETS} per invocation) and include the device's ring work
 * (about as much as the driver's) and the pool calls.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class VirtioPciBurstBenchmark {

    static final int PACKETS = 256;

    @Param({"32"})
    public int burst;

    private int rounds;
    private PacketPool pool;
    private SoftVirtioNet dev;
    private VirtioPciPort port;
    private PacketBurst tx;
    private PacketBurst rx;

    @Setup(Level.Trial)
    public void setUp() {
        rounds = PACKETS / burst;
        pool = BenchSetup.pool();
        dev = new SoftVirtioNet("net_virtio_pci80", pool, 0, 256);
        dev.disableKicks(); // a polling device: no notify register writes (as with a busy PCI device)
        port = dev.port();
        tx = new PacketBurst(burst);
        rx = new PacketBurst(burst);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        dev.completeTx(Integer.MAX_VALUE);
        dev.close();
        BenchSetup.checkPool(pool, "VirtioPciBurstBenchmark");
        pool.close();
    }

    @Benchmark
    @OperationsPerInvocation(PACKETS)
    public int tx() {
        int moved = 0;
        for (int r = 0; r < rounds; r++) {
            int n = pool.allocBulk(tx.handles, 0, burst);
            for (int i = 0; i < n; i++) {
                pool.setLength(tx.handles[i], 64);
            }
            int k = port.txBurst(0, tx, n);
            pool.freeBulk(tx.handles, k, n - k);
            moved += dev.completeTx(burst);
        }
        return moved;
    }

    @Benchmark
    @OperationsPerInvocation(PACKETS)
    public int rx() {
        int moved = 0;
        for (int r = 0; r < rounds; r++) {
            dev.completeRx(burst, 64);
            int n = port.rxBurst(0, rx);
            pool.freeBulk(rx.handles, 0, n);
            moved += n;
        }
        return moved;
    }

    @Benchmark
    @OperationsPerInvocation(PACKETS)
    public int txRxLoopback() {
        int moved = 0;
        for (int r = 0; r < rounds; r++) {
            int n = pool.allocBulk(tx.handles, 0, burst);
            for (int i = 0; i < n; i++) {
                pool.setLength(tx.handles[i], 64);
            }
            int k = port.txBurst(0, tx, n);
            pool.freeBulk(tx.handles, k, n - k);
            dev.loopback();
            int got = port.rxBurst(0, rx);
            pool.freeBulk(rx.handles, 0, got);
            moved += got;
        }
        return moved;
    }
}
