package dev.panda.perf.jmh;

import dev.panda.dataplane.filter.RxFilter;
import dev.panda.dataplane.filter.RxFilterStream;
import dev.panda.dataplane.fwd.FwdConfig;
import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.engines.IoEngine;
import dev.panda.dataplane.fwd.engines.TxOnlyEngine;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.xdp.prefilter.Prefilter;
import dev.panda.xdp.rxfilter.EbpfRxFilter;
import dev.panda.xdp.rxfilter.EbpfRxFilterProvider;
import java.net.InetAddress;
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
 * io forwarding on a loopback {@code net_ring} port (as {@link EngineBenchmark}'s io) with the
 * userspace prefilter on the stream's rx ({@code filter=jit|interp}) or none. The prefilter has
 * prefix and 5-tuple rules that the txonly frames miss, so every packet walks the whole program
 * and passes (the ring stays primed). Score: ns per packet, ring rx and tx included.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class RxFilterBenchmark {

    static final int BURST = PacketBurst.DEFAULT_BURST;

    @Param({"none", "jit", "interp"})
    public String filter;

    private PacketPool pool;
    private Port port;
    private RxFilter rxFilter;
    private FwdStream stream;
    private final IoEngine io = new IoEngine();

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        pool = BenchSetup.pool();
        port = BenchSetup.loopbackRing("net_ring91", pool);
        FwdConfig cfg = FwdConfig.defaults().withBurst(BURST);
        FwdStream gen = new FwdStream(0, port, 0, 0, port, 0, 0, pool, cfg);
        TxOnlyEngine tx = new TxOnlyEngine();
        tx.begin(gen);
        if (tx.forward(gen) != BURST) {
            throw new IllegalStateException("could not prime the ring");
        }
        tx.end(gen);
        RxFilterStream fs = null;
        if (!filter.equals("none")) {
            rxFilter = new EbpfRxFilterProvider.PrefilterProvider().open("engine=" + filter, 1);
            Prefilter p = ((EbpfRxFilter) rxFilter).prefilter();
            p.dropSourcePrefix(InetAddress.getByName("198.18.200.0"), 24, 0);
            p.dropSourcePrefix(InetAddress.getByName("2001:db8:1::"), 48, 1);
            p.flowRule(
                    InetAddress.getByName("198.18.3.3"),
                    InetAddress.getByName("198.18.0.1"),
                    17,
                    5000,
                    53,
                    Prefilter.FlowAction.DROP,
                    2);
            fs = rxFilter.newStream(0, pool, port, 0, 0, 0);
        }
        stream = new FwdStream(0, port, 0, 0, port, 0, 0, pool, cfg, fs);
        io.begin(stream);
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public int io() {
        return io.forward(stream);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        io.end(stream);
        long filtered = stream.filtered();
        BenchSetup.drain(port, pool);
        port.close();
        BenchSetup.checkPool(pool, "io+" + filter);
        pool.close();
        if (rxFilter != null) {
            rxFilter.close();
        }
        if (filtered != 0 || stream.fwdDropped() != 0) {
            throw new IllegalStateException(
                    "not a steady state: " + filtered + " filtered, " + stream.fwdDropped() + " dropped");
        }
    }
}
