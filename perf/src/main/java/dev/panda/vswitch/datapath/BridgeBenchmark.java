package dev.panda.vswitch.datapath;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.AbstractPort;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.vswitch.bridge.Fdb;
import dev.panda.vswitch.bridge.VlanPolicy;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
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
 * The learning bridge's own work per packet, without I/O: {@code Switching.switchBurst} on a burst
 * of {@value #BURST} frames received on one port of br0 and staged for another, whose port only
 * counts what it is given. {@code conversation=one}: every frame from one source to one learned
 * destination (a VM's stream; the per-burst memos hit after the first frame); {@code many}: every
 * frame from its own source to its own learned destination (each frame learns and looks up).
 * Scores are ns per packet. In the package of the class it measures, which it reaches without
 * widening its API.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class BridgeBenchmark {

    static final int BURST = 32;
    private static final ValueLayout.OfLong BE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    @Param({"one", "many"})
    public String conversation;

    private PacketPool pool;
    private Switching sw;
    private Snapshot snapshot;
    private PortEntry in;
    private Sink sink;
    private final int[] handles = new int[BURST];

    /** Takes every burst and keeps the buffers with the benchmark (they are sent again). */
    static final class Sink extends AbstractPort {
        long packets;

        Sink(String name) {
            super(name, "sink", 1, 1, 0);
        }

        @Override
        public int rxBurst(int queue, PacketBurst burst) {
            return 0;
        }

        @Override
        public int txBurst(int queue, PacketBurst burst, int n) {
            packets += n;
            return n;
        }

        @Override
        public LinkStatus link() {
            return LinkStatus.VIRTUAL_UP;
        }

        @Override
        public void close() {}
    }

    @Setup(Level.Trial)
    public void setUp() {
        pool = PacketPool.create(PoolConfig.defaults().withCount(1024));
        Fdb fdb = new Fdb(8192, 300);
        BridgeEntry br = new BridgeEntry("br0", fdb);
        sink = new Sink("vm1");
        in = new PortEntry(1, "vm0", new Sink("vm0"), VlanPolicy.all(), br, null, null);
        PortEntry out = new PortEntry(2, "vm1", sink, VlanPolicy.all(), br, null, null);
        snapshot = new Snapshot(1, List.of(in, out), List.of(br), List.of(List.of()));
        boolean one = conversation.equals("one");
        MemorySegment seg = pool.segment();
        for (int i = 0; i < BURST; i++) {
            long src = 0x02_00_00_00_01_00L + (one ? 0 : i);
            long dst = 0x02_00_00_00_02_00L + (one ? 0 : i);
            fdb.learn(0, dst, 2, 1);
            int h = pool.alloc();
            long off = pool.dataOffset(h);
            seg.set(BE64, off, dst << 16);
            seg.set(BE64, off + 6, (src << 16) | 0x0800);
            pool.setLength(h, 60);
            handles[i] = h;
        }
        sw = new Switching(pool, 0, BURST);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (sink.packets == 0) {
            throw new IllegalStateException("BridgeBenchmark: nothing reached the egress port");
        }
        pool.freeBulk(handles, 0, BURST);
        pool.close();
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public long switchBurst() {
        sw.switchBurst(handles, BURST, in, 5, snapshot);
        return sink.packets;
    }
}
