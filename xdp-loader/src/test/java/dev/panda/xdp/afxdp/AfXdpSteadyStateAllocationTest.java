package dev.panda.xdp.afxdp;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.testing.AllocationWatch;
import dev.panda.dataplane.testing.VethPair;
import dev.panda.jextract.libbpf.Libbpf;
import dev.panda.jextract.libbpf.bpf_test_run_opts;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.xdp_md;
import dev.panda.xdp.bpf.BpfObject;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The AF_XDP receive path allocates nothing in steady state: a poller receives and frees a
 * continuous stream (XDP live frames, xdp_gen_tx run by BPF_PROG_TEST_RUN in the peer's
 * namespace, as {@code panda perf xdp-rxdrop} feeds it) while JFR watches its allocations and
 * every GC and the JVM counts its allocated bytes; with the default fill batching, with a refill
 * on every poll, and with busy polling (a recvfrom per empty poll). Needs root (veth pair).
 */
class AfXdpSteadyStateAllocationTest {

    @RegisterExtension
    static final VethPair.PerClass VETH = new VethPair.PerClass();

    private static final int LIVE_FRAMES = 1 << 1; // BPF_F_TEST_XDP_LIVE_FRAMES, linux/bpf.h
    private static final int CLONE_NEWNET = 0x40000000;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SETNS = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("setns"), FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle OPEN = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("open"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));

    private static final long WARM_UP_MS = 3000;
    private static final long WINDOW_MS = 5000;

    private volatile boolean stop;
    private volatile long received;
    private volatile Throwable failure;

    @ParameterizedTest
    @ValueSource(strings = {"", ",fill_batch=0", ",busy_budget=64"})
    void receivingAllocatesNothingInSteadyState(String extra) throws Exception {
        VethPair veth = VETH.get();
        stop = false;
        failure = null;
        try (PacketPool pool =
                PacketPool.create(PoolConfig.defaults().withCount(8192).withHugepages(PoolConfig.Hugepages.OFF))) {
            AfXdpPort port = AfXdpFixture.open(veth, pool, ",mode=native,zerocopy=0" + extra);
            Thread gen = new Thread(() -> generate(veth, veth.udpToHost(7000, 9000, 0, 18)), "live-frames");
            Thread poller = new Thread(
                    () -> {
                        PacketBurst b = new PacketBurst(64);
                        long n = 0;
                        while (!stop) {
                            int k = port.rxBurst(0, b);
                            if (k > 0) {
                                pool.freeBulk(b.handles, 0, k);
                                n += k;
                                received = n;
                            }
                        }
                    },
                    "afxdp-poller");
            try {
                gen.start();
                poller.start();
                Thread.sleep(WARM_UP_MS);
                AllocationWatch.settle(poller, 60);
                try (AllocationWatch watch = AllocationWatch.start(poller)) {
                    long p0 = received;
                    Thread.sleep(WINDOW_MS);
                    AllocationWatch.Result r = watch.stop();
                    long packets = received - p0;
                    System.out.printf(
                            "net_af_xdp%s: %d packets in %d ms, poller CPU %.0f ns/packet, allocated %d B, GC %d"
                                    + " (JFR %d), JFR allocation events %d%n",
                            extra,
                            packets,
                            WINDOW_MS,
                            (double) r.cpuNanos() / Math.max(1, packets),
                            r.allocatedBytes(),
                            r.gcCycles(),
                            r.jfrGcEvents(),
                            r.jfrAllocationEvents());
                    assertNull(failure, () -> "generator failed: " + failure);
                    assertTrue(packets > 10_000, "receiving too slow to show anything: " + packets);
                    assertEquals(0, r.jfrAllocationEvents(), "JFR saw the poller allocate");
                    assertEquals(
                            0,
                            r.allocatedBytes(),
                            "the poller allocated " + r.allocatedBytes() + " bytes over " + packets + " packets");
                    assertEquals(0, r.gcCycles(), "GC cycles during steady-state receiving");
                    assertEquals(0, r.jfrGcEvents(), "GC cycles recorded by JFR");
                }
            } finally {
                stop = true;
                poller.join();
                gen.join(30_000);
                port.close();
            }
            assertEquals(pool.capacity(), pool.available(), "close returned every buffer");
        }
    }

    /** Joins the peer's namespace and sends {@code frame} as XDP live frames until stopped. */
    private void generate(VethPair veth, byte[] frame) {
        try (Arena a = Arena.ofConfined()) {
            int fd = (int) OPEN.invokeExact(a.allocateFrom("/var/run/netns/" + veth.ns), 0);
            if (fd < 0) {
                throw new IllegalStateException("open(/var/run/netns/" + veth.ns + ") failed");
            }
            int rc = (int) SETNS.invokeExact(fd, CLONE_NEWNET);
            Libc.close(fd);
            if (rc != 0) {
                throw new IllegalStateException("setns(" + veth.ns + ") failed");
            }
            int ifindex = Libc.if_nametoindex(a.allocateFrom(veth.peerIf));
            try (BpfObject g = BpfObject.openResource("/bpf/xdp_gen_tx.o").load()) {
                int progFd = g.program("xdp_gen_tx").fd();
                MemorySegment data = a.allocate(frame.length);
                data.copyFrom(MemorySegment.ofArray(frame));
                MemorySegment ctx = xdp_md.allocate(a);
                xdp_md.data_end(ctx, frame.length);
                xdp_md.ingress_ifindex(ctx, ifindex);
                MemorySegment opts = bpf_test_run_opts.allocate(a);
                bpf_test_run_opts.sz(opts, bpf_test_run_opts.sizeof());
                bpf_test_run_opts.data_in(opts, data);
                bpf_test_run_opts.data_size_in(opts, frame.length);
                bpf_test_run_opts.ctx_in(opts, ctx);
                bpf_test_run_opts.ctx_size_in(opts, (int) xdp_md.sizeof());
                bpf_test_run_opts.repeat(opts, 1 << 12);
                bpf_test_run_opts.flags(opts, LIVE_FRAMES);
                bpf_test_run_opts.batch_size(opts, 64);
                while (!stop) {
                    int r = Libbpf.bpf_prog_test_run_opts(progFd, opts);
                    if (r < 0 && -r != Libc.EINTR()) {
                        throw new IllegalStateException("bpf_prog_test_run_opts(live frames) failed: " + -r);
                    }
                }
            }
        } catch (Throwable t) {
            failure = t;
        }
    }
}
