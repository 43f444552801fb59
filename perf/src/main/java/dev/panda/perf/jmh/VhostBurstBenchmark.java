package dev.panda.perf.jmh;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_IN_ORDER;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MRG_RXBUF;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_RING_PACKED;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_VERSION_1;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.pmd.virtio.ring.DeviceQueue;
import dev.panda.pmd.virtio.ring.DriverQueue;
import dev.panda.pmd.virtio.ring.PackedDeviceQueue;
import dev.panda.pmd.virtio.ring.PackedDriverQueue;
import dev.panda.pmd.virtio.ring.PackedRing;
import dev.panda.pmd.virtio.ring.VirtioNetHeader;
import dev.panda.pmd.virtio.ring.VirtqDriver;
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
 * net_vhost's device-side receive burst on split and packed rings in one thread, with the
 * driver's rings in ordinary memory on the same thread (panda's own {@link DriverQueue} or
 * {@link PackedDriverQueue} playing DPDK's virtio-user txonly): what panda's own code costs per
 * packet without the other CPU's cache misses and placement, so the two ring formats (and a change
 * to either) can be told apart where {@code panda perf vhost-rx}'s interleaved pairs cannot.
 *
 * <p>{@code deviceRx}: the driver offers a burst of 64-byte frames behind the 12-byte header,
 * each one descriptor; panda's rxBurst walks the chains, copies the frames into pool buffers and
 * returns the chains (with {@code packed-in-order} a read-only packed queue returns each burst as
 * one used descriptor, as with DPDK's virtio-user default {@code in_order=1}); freeBulk; the driver
 * harvests. Scores are ns per packet ({@value #PACKETS} per invocation), driver work included.
 *
 * <p>{@code deviceTx}: the other direction, the vswitch's egress into a guest: the driver posts a
 * burst of {@value #BUF}-byte receive buffers (MRG_RXBUF negotiated, as DPDK's virtio-user and
 * Linux do), panda's txBurst writes header and 64-byte frame into each and frees the pool buffers,
 * the driver harvests; pool allocation of the burst included.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class VhostBurstBenchmark {

    static final int PACKETS = 256;
    static final int SIZE = 256;
    static final int BUF = 2048;
    /** Guest addresses start away from 0 and from the memory's own address, as a VM's do. */
    static final long GPA = 0x4000_0000L;

    @Param({"split", "packed", "packed-in-order"})
    public String ring;

    @Param({"32"})
    public int burst;

    private int rounds;
    private Arena arena;
    private PacketPool pool;
    private VirtioDevicePort port;
    /** The driver's transmit queue (panda receives), split or packed. */
    private VirtqDriver txq;
    /** The driver's receive queue (panda transmits). */
    private VirtqDriver rxq;

    private long rxBuffers;
    private long buffers;
    private PacketBurst pb;
    private final int[] tokens = new int[SIZE];
    private final int[] lens = new int[SIZE];

    @Setup(Level.Trial)
    public void setUp() {
        boolean packed = !ring.equals("split");
        long features = bit(F_VERSION_1)
                | (packed ? bit(F_RING_PACKED) : 0)
                | (ring.equals("packed-in-order") ? bit(F_IN_ORDER) : 0)
                | bit(F_MRG_RXBUF);
        rounds = PACKETS / burst;
        arena = Arena.ofShared();
        pool = BenchSetup.pool();
        long ringBytes = (packed ? PackedDriverQueue.bytes(SIZE, 0) : DriverQueue.bytes(SIZE, 0)) + 4095 & -4096L;
        // [tx ring][rx ring][SIZE tx buffers][SIZE rx buffers]
        long total = 2 * ringBytes + 2L * SIZE * BUF;
        MemorySegment mem = arena.allocate(total, 4096);
        IotlbMemory guest = new IotlbMemory(List.of(new IotlbMemory.Range(GPA, GPA + total - 1, mem, true)));
        buffers = 2 * ringBytes;
        rxBuffers = buffers + (long) SIZE * BUF;
        BenchDevice d = new BenchDevice("net_vhost99", "net_vhost", pool, 0x02_70_6e_00_d5_64L);
        if (packed) {
            PackedDriverQueue prxq = PackedDriverQueue.create(
                    "rx", mem.asSlice(ringBytes, ringBytes), GPA + ringBytes, SIZE, features, 0);
            d.publish(
                    0,
                    PackedDeviceQueue.at(
                            "vq0",
                            guest,
                            SIZE,
                            prxq.descAddr(),
                            prxq.driverEventAddr(),
                            prxq.deviceEventAddr(),
                            features,
                            PackedRing.offWrap(0, true)),
                    features);
            PackedDriverQueue ptxq = PackedDriverQueue.create("tx", mem.asSlice(0, ringBytes), GPA, SIZE, features, 0);
            PackedDeviceQueue q = PackedDeviceQueue.at(
                            "vq1",
                            guest,
                            SIZE,
                            ptxq.descAddr(),
                            ptxq.driverEventAddr(),
                            ptxq.deviceEventAddr(),
                            features,
                            PackedRing.offWrap(0, true))
                    .deviceReadsOnly();
            d.publish(1, q, features);
            rxq = prxq;
            txq = ptxq;
        } else {
            DriverQueue srxq =
                    DriverQueue.create("rx", mem.asSlice(ringBytes, ringBytes), GPA + ringBytes, SIZE, features, 0);
            d.publish(
                    0,
                    DeviceQueue.at("vq0", guest, SIZE, srxq.descAddr(), srxq.availAddr(), srxq.usedAddr(), features, 0),
                    features);
            DriverQueue stxq = DriverQueue.create("tx", mem.asSlice(0, ringBytes), GPA, SIZE, features, 0);
            d.publish(
                    1,
                    DeviceQueue.at("vq1", guest, SIZE, stxq.descAddr(), stxq.availAddr(), stxq.usedAddr(), features, 0),
                    features);
            rxq = srxq;
            txq = stxq;
        }
        port = d;
        // tx frames: a zero header and 64 bytes, ready in the SIZE buffers
        for (int i = 0; i < SIZE; i++) {
            mem.asSlice(buffers + (long) i * BUF, VirtioNetHeader.BYTES).fill((byte) 0);
        }
        pb = new PacketBurst(burst);
        int moved = deviceRx();
        if (moved != rounds * burst) {
            throw new IllegalStateException(ring + ": one invocation moved " + moved + " of " + rounds * burst);
        }
        moved = deviceTx();
        if (moved != rounds * burst) {
            throw new IllegalStateException(ring + ": one tx invocation moved " + moved + " of " + rounds * burst);
        }
        if (lens[0] != VirtioNetHeader.BYTES + 64) {
            throw new IllegalStateException(ring + ": the driver got " + lens[0] + " bytes, not header and frame");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        port.close();
        BenchSetup.checkPool(pool, "VhostBurstBenchmark");
        pool.close();
        arena.close();
    }

    @Benchmark
    @OperationsPerInvocation(PACKETS)
    public int deviceRx() {
        int moved = 0;
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < burst; i++) {
                txq.addOut(GPA + buffers + (long) i * BUF, (int) VirtioNetHeader.BYTES + 64, i);
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
        int[] h = pb.handles;
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < burst; i++) {
                rxq.addIn(GPA + rxBuffers + (long) i * BUF, BUF, i);
            }
            rxq.publish();
            int got = pool.allocBulk(h, 0, burst);
            for (int i = 0; i < got; i++) {
                pool.setLength(h[i], 64);
            }
            int n = port.txBurst(0, pb, got);
            if (n < got) {
                pool.freeBulk(h, n, got - n);
            }
            moved += n;
            rxq.harvest(tokens, lens, SIZE);
        }
        return moved;
    }
}
