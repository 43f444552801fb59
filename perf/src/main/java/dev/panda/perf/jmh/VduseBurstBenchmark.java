package dev.panda.perf.jmh;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.pmd.virtio.ring.DeviceQueue;
import dev.panda.pmd.virtio.ring.DriverQueue;
import dev.panda.pmd.virtio.ring.VirtioNetHeader;
import dev.panda.pmd.virtio.vduse.IotlbMemory;
import dev.panda.pmd.virtio.vhost.VirtioDevicePort;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
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
 * net_vduse's per-burst cost without a kernel: the device side net_vduse runs
 * ({@link VirtioDevicePort} on pmd-virtio's {@link DeviceQueue}s, the driver's memory an
 * {@link IotlbMemory} range at IOVAs unequal to its addresses) against a driver's rings in
 * ordinary memory ({@link DriverQueue}, which plays the guest kernel's virtio_net on the same
 * thread). Inside a TCG guest absolute rates mean nothing; this is the figure that does. The
 * driver polls, so no VDUSE_VQ_INJECT_IRQ is counted (one ioctl per burst when it wants one).
 *
 * <ul>
 *   <li>{@code deviceRx}: the driver offers a burst of 64-byte frames (behind the 12-byte header);
 *       panda's rxBurst copies them into pool buffers and returns the chains; freeBulk; the driver
 *       harvests.</li>
 *   <li>{@code deviceTx}: panda's txBurst copies a burst of 64-byte pool frames into the driver's
 *       receive buffers; the driver harvests and offers them again.</li>
 * </ul>
 * Scores are ns per packet ({@value #PACKETS} per invocation), driver work included.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class VduseBurstBenchmark {

    static final int PACKETS = 256;
    static final int SIZE = 256;
    static final int BUF = 2048;
    /** The IOVA the driver's memory is seen at (VDUSE's domain starts near 0, never at its address). */
    static final long IOVA = 0x10_0000L;

    static final long F_VERSION_1 = 1L << 32;

    @Param({"32"})
    public int burst;

    private int rounds;
    private Arena arena;
    private PacketPool pool;
    private VirtioDevicePort port;
    private DriverQueue rxq; // vring 0: the driver's receive queue (panda transmits)
    private DriverQueue txq; // vring 1: the driver's transmit queue (panda receives)
    private long buffers;
    private PacketBurst pb;
    private final int[] tokens = new int[SIZE];
    private final int[] lens = new int[SIZE];

    @Setup(Level.Trial)
    public void setUp() {
        rounds = PACKETS / burst;
        arena = Arena.ofShared();
        pool = BenchSetup.pool();
        long ringBytes = DriverQueue.bytes(SIZE, 0);
        long total = 2 * ringBytes + 2L * SIZE * BUF;
        MemorySegment mem = arena.allocate(total, 4096);
        IotlbMemory iotlb = new IotlbMemory(List.of(new IotlbMemory.Range(IOVA, IOVA + total - 1, mem, true)));
        rxq = DriverQueue.create("rx", mem.asSlice(0, ringBytes), IOVA, SIZE, F_VERSION_1, 0);
        txq = DriverQueue.create("tx", mem.asSlice(ringBytes, ringBytes), IOVA + ringBytes, SIZE, F_VERSION_1, 0);
        buffers = 2 * ringBytes;
        BenchDevice d = new BenchDevice("net_vduse99", "net_vduse", pool, 0x02_70_6e_00_d5_63L);
        d.publish(
                0,
                DeviceQueue.at("vq0", iotlb, SIZE, rxq.descAddr(), rxq.availAddr(), rxq.usedAddr(), F_VERSION_1, 0),
                F_VERSION_1);
        d.publish(
                1,
                DeviceQueue.at("vq1", iotlb, SIZE, txq.descAddr(), txq.availAddr(), txq.usedAddr(), F_VERSION_1, 0),
                F_VERSION_1);
        port = d;
        // tx frames: a zero header and 64 bytes, ready in the first SIZE buffers
        for (int i = 0; i < SIZE; i++) {
            mem.asSlice(buffers + (long) i * BUF, VirtioNetHeader.BYTES).fill((byte) 0);
        }
        // the receive ring full of empty buffers (the second SIZE buffers)
        for (int i = 0; i < SIZE; i++) {
            rxq.addIn(IOVA + buffers + (long) (SIZE + i) * BUF, BUF, i);
        }
        rxq.publish();
        pb = new PacketBurst(burst);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        port.close();
        BenchSetup.checkPool(pool, "VduseBurstBenchmark");
        pool.close();
        arena.close();
    }

    @Benchmark
    @OperationsPerInvocation(PACKETS)
    public int deviceRx() {
        int moved = 0;
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < burst; i++) {
                txq.addOut(IOVA + buffers + (long) i * BUF, (int) VirtioNetHeader.BYTES + 64, i);
            }
            txq.publish();
            int n = port.rxBurst(0, pb);
            pool.freeBulk(pb.handles, 0, n);
            moved += n;
            txq.harvest(tokens, lens, SIZE);
        }
        return moved;
    }

    @Benchmark
    @OperationsPerInvocation(PACKETS)
    public int deviceTx() {
        int moved = 0;
        for (int r = 0; r < rounds; r++) {
            int n = pool.allocBulk(pb.handles, 0, burst);
            for (int i = 0; i < n; i++) {
                pool.setLength(pb.handles[i], 64);
            }
            int k = port.txBurst(0, pb, n);
            pool.freeBulk(pb.handles, k, n - k);
            int h = rxq.harvest(tokens, lens, SIZE);
            for (int i = 0; i < h; i++) {
                rxq.addIn(IOVA + buffers + (long) (SIZE + tokens[i]) * BUF, BUF, tokens[i]);
            }
            rxq.publish();
            moved += k;
        }
        return moved;
    }
}
