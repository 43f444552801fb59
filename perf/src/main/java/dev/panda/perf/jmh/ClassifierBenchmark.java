package dev.panda.perf.jmh;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FailMode;
import dev.panda.vswitch.flow.FlowEngine;
import dev.panda.vswitch.flow.FlowMod;
import dev.panda.vswitch.flow.FlowModResult;
import dev.panda.vswitch.flow.FlowText;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The vswitch's OpenFlow classifier per packet ({@link FlowEngine#process}: parse, exact-match
 * cache, tuple-space search, counters, one output), with {@code flows} installed flows spread over
 * four masks (ip+nw_dst, ip+nw_dst/24, tcp+tp_dst, in_port+dl_dst, priorities mixed, plus a
 * priority-0 catch-all) and {@code packetFlows} distinct packets (IPv4/TCP, destination address
 * and ports varied) sent round robin. {@code cache=on} is the real path (hits while the distinct
 * packets fit the 8192-entry cache, misses beyond); {@code cache=off} always searches the
 * classifier (the miss path). Scores are ns per packet.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class ClassifierBenchmark {

    private static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    @Param({"1", "100", "10000"})
    public int flows;

    @Param({"1", "1000", "100000"})
    public int packetFlows;

    @Param({"on", "off"})
    public String cache;

    private PacketPool pool;
    private BridgeFlows table;
    private FlowEngine engine;
    private int h;
    private long base;
    private MemorySegment seg;
    private int[] dst;
    private int[] ports;
    private int next;
    private long outputs;

    /** Counts outputs; the buffer stays with the benchmark for the next packet. */
    private final FlowEngine.Egress sink = new FlowEngine.Egress() {
        @Override
        public void output(int handle, int port) {
            outputs++;
        }

        @Override
        public void flood(int handle, int inPort) {
            outputs++;
        }

        @Override
        public void normal(int handle, int inPort) {
            outputs++;
        }

        @Override
        public void drop(int handle) {
            outputs++;
        }
    };

    @Setup(Level.Trial)
    public void setUp() {
        pool = BenchSetup.pool();
        table = new BridgeFlows("br0", 1, Math.max(BridgeFlows.DEFAULT_MAX_FLOWS, flows + 1));
        table.setFailMode(FailMode.SECURE);
        add("priority=0,actions=output:9");
        for (int i = 0; i < flows - 1; i++) {
            int prio = 1 + (i * 7919) % 1000;
            String ip = "198." + (18 + (i >>> 16 & 1)) + "." + (i >>> 8 & 0xff) + "." + (i & 0xff);
            String m = switch (i % 4) {
                case 0 -> "ip,nw_dst=" + ip;
                case 1 -> "ip,nw_dst=" + ip + "/24,nw_src=10.0.0." + (i & 0xff);
                case 2 -> "tcp,tp_dst=" + (1 + i % 60000) + ",nw_proto=6";
                default -> "in_port=1,dl_dst=02:00:00:" + hex(i >>> 16) + ":" + hex(i >>> 8) + ":" + hex(i);
            };
            add("priority=" + prio + "," + m + ",actions=output:" + (2 + i % 5));
        }
        engine = new FlowEngine(pool, 0);
        engine.bypassCache(cache.equals("off"));
        h = pool.alloc();
        seg = pool.segment();
        base = pool.dataOffset(h);
        byte[] frame = tcpFrame();
        MemorySegment.copy(frame, 0, seg, ValueLayout.JAVA_BYTE, base, frame.length);
        pool.setLength(h, frame.length);
        SplittableRandom r = new SplittableRandom(42);
        dst = new int[packetFlows];
        ports = new int[packetFlows];
        for (int i = 0; i < packetFlows; i++) {
            int x = r.nextInt(Math.max(1, flows));
            dst[i] = (198 << 24) | ((18 + (x >>> 16 & 1)) << 16) | (x & 0xffff);
            ports[i] = (r.nextInt(1024, 65536) << 16) | (1 + r.nextInt(Math.max(1, flows)) % 60000);
        }
    }

    private static String hex(int b) {
        return String.format("%02x", b & 0xff);
    }

    private void add(String flow) {
        FlowModResult r = table.apply(FlowText.parse(flow, FlowMod.Command.ADD));
        if (!r.isOk()) {
            throw new IllegalStateException(flow + ": " + r.message());
        }
    }

    private static byte[] tcpFrame() {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(64);
        b.putShort((short) 0x0200).putInt(0x0000_0001); // dst 02:00:00:00:00:01
        b.putShort((short) 0x0200).putInt(0x0000_0002);
        b.putShort((short) 0x0800);
        b.put((byte) 0x45).put((byte) 0).putShort((short) 46).putInt(0);
        b.put((byte) 64).put((byte) 6).putShort((short) 0).putInt(0x0a00_0001).putInt(0xc612_0001);
        b.putShort((short) 40000).putShort((short) 80);
        return b.array();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        System.out.printf(
                "%n  flows=%d packetFlows=%d cache=%s: cache hits %d misses %d, outputs %d%n",
                flows, packetFlows, cache, engine.cacheHits(), engine.cacheMisses(), outputs);
        pool.free(h);
        BenchSetup.checkPool(pool, "ClassifierBenchmark");
        pool.close();
    }

    @Benchmark
    public long classify() {
        int i = next;
        next = i + 1 == packetFlows ? 0 : i + 1;
        seg.set(BE32, base + 14 + 16, dst[i]);
        seg.set(BE32, base + 34, ports[i]);
        engine.process(h, 1, 0, table, sink);
        return outputs;
    }
}
