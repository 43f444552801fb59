package dev.panda.perf.jmh;

import dev.panda.dataplane.fwd.ForwardEngine;
import dev.panda.dataplane.fwd.FwdConfig;
import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.Packets;
import dev.panda.dataplane.fwd.engines.IcmpEchoEngine;
import dev.panda.dataplane.fwd.engines.IoEngine;
import dev.panda.dataplane.fwd.engines.MacEngine;
import dev.panda.dataplane.fwd.engines.MacSwapEngine;
import dev.panda.dataplane.fwd.engines.RxOnlyEngine;
import dev.panda.dataplane.fwd.engines.TxOnlyEngine;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
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
 * Per-packet cost of the forwarding engines, each driving a {@link FwdStream} whose rx and tx port
 * are the same loopback {@code net_ring} port (as in dataplane's EngineTest). Each invocation is
 * one {@code forward(stream)} of a {@value #BURST}-packet burst, so the score is ns per packet,
 * port rx and tx included.
 *
 * <p>Steady state: io, mac and macswap forward a ring primed with one burst of txonly frames
 * (the same buffers go round); txonly is paired with rxonly draining the ring ({@code txonlyDrain},
 * alloc + build + ring tx + ring rx + free); rxonly is fed one burst of fresh buffers per pass
 * ({@code rxonlyFeed}, allocBulk + ring tx + ring rx + free); icmpecho answers echo requests whose
 * replies return to the ring, and each pass first turns the replies back into requests (a byte and
 * a checksum store per packet) so there is always something to answer. Tear-down fails the trial
 * if an engine dropped a packet or the pool lost a buffer.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class EngineBenchmark {

    static final int BURST = PacketBurst.DEFAULT_BURST;

    /** Pool, loopback ring port and one stream on it; each benchmark's state extends it. */
    abstract static class Rig {
        PacketPool pool;
        Port port;
        FwdStream stream;

        void open(String ring) {
            pool = BenchSetup.pool();
            port = BenchSetup.loopbackRing(ring, pool);
            FwdConfig cfg = FwdConfig.defaults().withBurst(BURST);
            stream = new FwdStream(0, port, 0, 0, port, 0, 0, pool, cfg);
        }

        /** Puts one burst of valid 64-byte UDP frames on the ring, built by a txonly engine. */
        void primeUdp() {
            TxOnlyEngine gen = new TxOnlyEngine();
            gen.begin(stream);
            if (gen.forward(stream) != BURST) {
                throw new IllegalStateException("could not prime the ring with " + BURST + " frames");
            }
            gen.end(stream);
            stream.resetCounters();
        }

        void close(String what) {
            long dropped = stream.fwdDropped();
            long moved = stream.rxPackets() + stream.txPackets();
            BenchSetup.drain(port, pool);
            port.close();
            BenchSetup.checkPool(pool, what);
            pool.close();
            if (dropped != 0 || moved == 0) {
                throw new IllegalStateException(
                        what + ": not a steady state: " + dropped + " packets dropped, " + moved + " received or sent");
            }
        }
    }

    @State(Scope.Thread)
    public static class Io extends Rig {
        final ForwardEngine engine = new IoEngine();

        @Setup(Level.Trial)
        public void setUp() {
            open("net_ring81");
            primeUdp();
            engine.begin(stream);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            engine.end(stream);
            close("io");
        }
    }

    @State(Scope.Thread)
    public static class MacSwap extends Rig {
        final ForwardEngine engine = new MacSwapEngine();

        @Setup(Level.Trial)
        public void setUp() {
            open("net_ring82");
            primeUdp();
            engine.begin(stream);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            engine.end(stream);
            close("macswap");
        }
    }

    @State(Scope.Thread)
    public static class Mac extends Rig {
        final ForwardEngine engine = new MacEngine();

        @Setup(Level.Trial)
        public void setUp() {
            open("net_ring83");
            primeUdp();
            engine.begin(stream);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            engine.end(stream);
            close("mac");
        }
    }

    @State(Scope.Thread)
    public static class TxOnlyDrain extends Rig {
        final ForwardEngine tx = new TxOnlyEngine();
        final ForwardEngine drain = new RxOnlyEngine();

        @Setup(Level.Trial)
        public void setUp() {
            open("net_ring84");
            tx.begin(stream);
            drain.begin(stream);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            tx.end(stream);
            drain.end(stream);
            close("txonly+drain");
        }
    }

    @State(Scope.Thread)
    public static class RxOnlyFeed extends Rig {
        final ForwardEngine engine = new RxOnlyEngine();
        final PacketBurst feed = new PacketBurst(BURST);

        @Setup(Level.Trial)
        public void setUp() {
            open("net_ring85");
            engine.begin(stream);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            engine.end(stream);
            close("rxonly");
        }
    }

    @State(Scope.Thread)
    public static class IcmpEcho extends Rig {
        static final int FRAME_LEN = 64;
        static final int ICMP = Packets.IP + Packets.IP_HLEN;

        final ForwardEngine engine = new IcmpEchoEngine();
        /** Offset of each primed frame's ICMP header in the pool segment. */
        final long[] icmp = new long[BURST];

        MemorySegment mem;
        int requestChecksum;

        @Setup(Level.Trial)
        public void setUp() {
            open("net_ring86");
            mem = pool.segment();
            PacketBurst b = new PacketBurst(BURST);
            if (pool.allocBulk(b.handles, 0, BURST) != BURST) {
                throw new IllegalStateException("pool too small");
            }
            for (int i = 0; i < BURST; i++) {
                int h = b.handles[i];
                long f = pool.dataOffset(h);
                writeEchoRequest(mem, f, port.mac());
                pool.setLength(h, FRAME_LEN);
                icmp[i] = f + ICMP;
            }
            requestChecksum = Packets.u16(mem, icmp[0] + 2);
            if (port.txBurst(0, b, BURST) != BURST) {
                throw new IllegalStateException("could not prime the ring");
            }
            engine.begin(stream);
        }

        /** Ethernet + IPv4 + ICMP echo request 198.18.0.1 to 198.18.0.2, id 0x1234, seq 1. */
        static void writeEchoRequest(MemorySegment m, long f, long dstMac) {
            Packets.mac(m, f, dstMac);
            Packets.mac(m, f + 6, 0x0a_00_00_00_00_01L);
            Packets.u16(m, f + Packets.ETH_TYPE, Packets.ETHERTYPE_IPV4);
            long ip = f + Packets.IP;
            Packets.u8(m, ip, 0x45);
            Packets.u8(m, ip + 1, 0);
            Packets.u16(m, ip + 2, FRAME_LEN - Packets.ETH_HLEN);
            Packets.u32(m, ip + 4, 0); // id 0, no fragmentation
            Packets.u8(m, ip + 8, 64);
            Packets.u8(m, ip + 9, Packets.PROTO_ICMP);
            Packets.u32(m, ip + 12, FwdConfig.DEFAULT_IP_SRC);
            Packets.u32(m, ip + 16, FwdConfig.DEFAULT_IP_DST);
            Packets.ipv4Checksum(m, ip);
            long icmp = f + ICMP;
            int icmpLen = FRAME_LEN - ICMP;
            Packets.u8(m, icmp, 8);
            Packets.u8(m, icmp + 1, 0);
            Packets.u16(m, icmp + 4, 0x1234);
            Packets.u16(m, icmp + 6, 1);
            for (int i = 8; i < icmpLen; i++) {
                Packets.u8(m, icmp + i, i);
            }
            Packets.u16(m, icmp + 2, 0);
            Packets.u16(m, icmp + 2, Packets.fold(Packets.sum16(m, icmp, icmpLen)));
        }

        /**
         * Turns the replies waiting in the ring back into requests: type 0 to 8 and the request's
         * checksum (the rest of the ICMP message never changes; addresses stay swapped, which is
         * still a valid request). The ring holds the same buffers every pass.
         */
        void rearm() {
            MemorySegment m = mem;
            int c = requestChecksum;
            for (int i = 0; i < BURST; i++) {
                long o = icmp[i];
                m.set(ValueLayout.JAVA_BYTE, o, (byte) 8);
                Packets.u16(m, o + 2, c);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            engine.end(stream);
            close("icmpecho");
        }
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int io(Io s) {
        return s.engine.forward(s.stream);
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int macswap(MacSwap s) {
        return s.engine.forward(s.stream);
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int mac(Mac s) {
        return s.engine.forward(s.stream);
    }

    /** txonly (alloc, copy template, stamp, ring tx) plus rxonly (ring rx, free) draining it. */
    @Benchmark
    @OperationsPerInvocation(BURST)
    public int txonlyDrain(TxOnlyDrain s) {
        return s.tx.forward(s.stream) + s.drain.forward(s.stream);
    }

    /** rxonly (ring rx, free) fed by allocBulk + ring tx of one burst of empty buffers. */
    @Benchmark
    @OperationsPerInvocation(BURST)
    public int rxonlyFeed(RxOnlyFeed s) {
        int n = s.pool.allocBulk(s.feed.handles, 0, BURST);
        s.port.txBurst(0, s.feed, n);
        return s.engine.forward(s.stream);
    }

    /** icmpecho answering one burst of echo requests (after the per-packet re-arm, see IcmpEcho). */
    @Benchmark
    @OperationsPerInvocation(BURST)
    public int icmpecho(IcmpEcho s) {
        s.rearm();
        return s.engine.forward(s.stream);
    }
}
