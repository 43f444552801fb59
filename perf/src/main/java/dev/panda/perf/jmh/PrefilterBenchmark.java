package dev.panda.perf.jmh;

import dev.panda.xdp.bpf.BpfObject;
import dev.panda.xdp.bpf.BpfProgram;
import dev.panda.xdp.ebpf.EbpfObject;
import dev.panda.xdp.ebpf.Interpreter;
import dev.panda.xdp.ebpf.Translator;
import dev.panda.xdp.ebpf.XdpContext;
import dev.panda.xdp.ebpf.XdpProgram;
import dev.panda.xdp.prefilter.Prefilter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
 * The production prefilter ({@code xdp-loader/src/main/bpf/prefilter.c}) on the same
 * {@value #PACKETS} frames three ways: the userspace {@link Interpreter}, the {@link Translator}'s
 * JVM bytecode, and the kernel's BPF_PROG_TEST_RUN with {@value #REPEAT} repeats per frame (the
 * syscall amortised over the repeats; needs root; the tear-down also prints the kernel's own
 * per-repetition duration, which leaves out time the test thread spent scheduled out, and the
 * userspace engines' thread CPU time per packet, the figures to compare on a loaded machine). Rules: two v4 prefixes, one v6 prefix, one
 * 5-tuple drop, so the frames take every path (prefix drop, flow drop, no match, v6, VLAN).
 * Scores are ns per packet.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class PrefilterBenchmark {

    static final int PACKETS = 32;
    static final int REPEAT = 64;
    static final int STRIDE = 2048;
    static final int HEADROOM = 256;

    private final byte[][] frames = new byte[PACKETS][];
    private MemorySegment buffers;
    private XdpContext ctx;
    private XdpProgram interpreter;
    private XdpProgram translated;
    private BpfObject kernel;
    private BpfProgram kernelProgram;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        for (int i = 0; i < PACKETS; i++) {
            frames[i] = frame(i);
        }
        buffers = Arena.ofAuto().allocate((long) STRIDE * PACKETS, 64);
        for (int i = 0; i < PACKETS; i++) {
            MemorySegment.copy(
                    frames[i],
                    0,
                    buffers,
                    java.lang.foreign.ValueLayout.JAVA_BYTE,
                    (long) i * STRIDE + HEADROOM,
                    frames[i].length);
        }
        EbpfObject user = EbpfObject.openResource(Prefilter.RESOURCE, 1);
        kernel = BpfObject.openResource(Prefilter.RESOURCE).load();
        kernelProgram = kernel.program(Prefilter.PROGRAM);
        Prefilter pf = new Prefilter(kernel);
        pf.dropSourcePrefix(InetAddress.getByName("198.18.1.0"), 24, 1);
        pf.dropSourcePrefix(InetAddress.getByName("198.18.2.128"), 25, 2);
        pf.dropSourcePrefix(InetAddress.getByName("2001:db8:1::"), 48, 3);
        pf.flowRule(
                InetAddress.getByName("198.18.3.3"),
                InetAddress.getByName("198.18.0.1"),
                17,
                5000,
                53,
                Prefilter.FlowAction.DROP,
                4);
        user.map(Prefilter.MAP_SRC_V4).update(lpm(24, InetAddress.getByName("198.18.1.0")), le32(1), 0);
        user.map(Prefilter.MAP_SRC_V4).update(lpm(25, InetAddress.getByName("198.18.2.128")), le32(2), 0);
        user.map(Prefilter.MAP_SRC_V6).update(lpm(48, InetAddress.getByName("2001:db8:1::")), le32(3), 0);
        ByteBuffer flow = ByteBuffer.allocate(40);
        flow.put(0, InetAddress.getByName("198.18.3.3").getAddress())
                .put(16, InetAddress.getByName("198.18.0.1").getAddress())
                .putShort(32, (short) 5000)
                .putShort(34, (short) 53)
                .put(36, (byte) 17)
                .put(37, (byte) 4);
        user.map(Prefilter.MAP_FLOWS).update(flow.array(), le32(0, 4), 0);
        interpreter = new Interpreter(user.program(Prefilter.PROGRAM));
        translated = Translator.translate(user.program(Prefilter.PROGRAM));
        ctx = user.newContext(0);
        // the three must agree before they are timed
        for (int i = 0; i < PACKETS; i++) {
            int k = kernelProgram.testRun(frames[i], 1).retval();
            int a = runOne(interpreter, i);
            int b = runOne(translated, i);
            if (a != k || b != k) {
                throw new IllegalStateException(
                        "frame " + i + ": kernel " + k + ", interpreter " + a + ", translated " + b);
            }
        }
    }

    private long kernelNs;
    private long kernelCalls;

    @TearDown(Level.Trial)
    public void tearDown() {
        // thread CPU time per packet, comparable with the kernel's figure on a loaded machine
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        for (XdpProgram p : new XdpProgram[] {interpreter, translated}) {
            long t0 = threads.getCurrentThreadCpuTime();
            int rounds = 20_000;
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < PACKETS; i++) {
                    runOne(p, i);
                }
            }
            System.out.printf(
                    "%n%s: %.1f ns/packet of thread CPU time%n",
                    p == interpreter ? "interpreter" : "translated",
                    (double) (threads.getCurrentThreadCpuTime() - t0) / ((long) rounds * PACKETS));
        }
        if (kernelCalls > 0) {
            // the kernel's own average per repetition (bpf_test_timer leaves out time spent scheduled out)
            System.out.printf(
                    "%nkernel-reported BPF_PROG_TEST_RUN duration: %.1f ns/packet over %d calls%n",
                    (double) kernelNs / kernelCalls, kernelCalls);
        }
        kernel.close();
    }

    private int runOne(XdpProgram p, int i) {
        long at = (long) i * STRIDE;
        ctx.setPacket(buffers, at, at + HEADROOM, at + HEADROOM + frames[i].length);
        return p.run(ctx);
    }

    @Benchmark
    @OperationsPerInvocation(PACKETS)
    public int interpreter() {
        int s = 0;
        for (int i = 0; i < PACKETS; i++) {
            s += runOne(interpreter, i);
        }
        return s;
    }

    @Benchmark
    @OperationsPerInvocation(PACKETS)
    public int translated() {
        int s = 0;
        for (int i = 0; i < PACKETS; i++) {
            s += runOne(translated, i);
        }
        return s;
    }

    @Benchmark
    @OperationsPerInvocation(PACKETS * REPEAT)
    public int kernelTestRun() {
        int s = 0;
        for (int i = 0; i < PACKETS; i++) {
            BpfProgram.TestRun r = kernelProgram.testRun(frames[i], REPEAT);
            kernelNs += r.durationNs();
            kernelCalls++;
            s += r.retval();
        }
        return s;
    }

    private static byte[] le32(int... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) {
            b.putInt(x);
        }
        return b.array();
    }

    private static byte[] lpm(int len, InetAddress a) {
        byte[] addr = a.getAddress();
        return ByteBuffer.allocate(4 + addr.length)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putInt(len)
                .put(addr)
                .array();
    }

    /** Frame {@code i}: v4 UDP/TCP from rotating sources (some in dropped prefixes), every 4th v6, every 8th with a VLAN tag. */
    static byte[] frame(int i) {
        boolean v6 = i % 4 == 3;
        boolean vlan = i % 8 == 5;
        int l3 = 14 + (vlan ? 4 : 0);
        ByteBuffer b = ByteBuffer.allocate(l3 + (v6 ? 40 : 20) + 8 + 18);
        b.put(new byte[] {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1});
        if (vlan) {
            b.putShort((short) 0x8100).putShort((short) 7);
        }
        if (v6) {
            b.putShort((short) 0x86dd)
                    .putInt(0x60000000)
                    .putShort((short) 26)
                    .put((byte) 17)
                    .put((byte) 64);
            b.put(new byte[] {
                0x20, 0x01, 0x0d, (byte) 0xb8, 0, (byte) (i % 8 == 3 ? 1 : 2), 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
            });
            b.put(new byte[] {0x20, 0x01, 0x0d, (byte) 0xb8, 0, (byte) 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
        } else {
            b.putShort((short) 0x0800)
                    .put((byte) 0x45)
                    .put((byte) 0)
                    .putShort((short) 46)
                    .putInt(0)
                    .put((byte) 64)
                    .put((byte) 17)
                    .putShort((short) 0)
                    .put(new byte[] {(byte) 198, 18, (byte) (1 + i % 4), 3})
                    .put(new byte[] {(byte) 198, 18, 0, 1});
        }
        b.putShort((short) 5000).putShort((short) 53).putShort((short) 26).putShort((short) 0);
        return b.array();
    }
}
