package dev.panda.xdp.bpf;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.Posix;
import dev.panda.jextract.libbpf.Libbpf;
import dev.panda.jextract.libbpf.bpf_test_run_opts;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.xdp_md;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * A traffic source in the kernel: one frame sent again and again as XDP live frames
 * ({@code xdp_gen_tx}, XDP_TX, run by BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES) on an
 * interface inside a network namespace, which a thread of its own joins with setns; the frames
 * leave by that interface's peer (the other end of a veth). xdp-trafficgen's technique, used by
 * {@code panda perf xdp-rxdrop} and the AF_XDP allocation test. Needs root.
 */
public final class LiveFrames implements AutoCloseable {

    private static final int LIVE_FRAMES = 1 << 1; // BPF_F_TEST_XDP_LIVE_FRAMES, linux/bpf.h
    private static final int CLONE_NEWNET = 0x40000000;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SETNS = ErrnoCalls.link(
            LINKER.defaultLookup().findOrThrow("setns"), FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle OPEN = ErrnoCalls.link(
            LINKER.defaultLookup().findOrThrow("open"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));

    private volatile boolean stop;
    private volatile Throwable failure;
    private final Thread thread;

    private LiveFrames(String ns, String ifname, byte[] frame, int repeat, int[] cpus) {
        thread = new Thread(
                () -> {
                    try {
                        loop(ns, ifname, frame, repeat, cpus);
                    } catch (Throwable t) {
                        failure = t;
                    }
                },
                "xdp-live-frames");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Starts sending {@code frame} from {@code ifname} in namespace {@code ns} (a name under
     * /var/run/netns), {@code repeat} frames per BPF_PROG_TEST_RUN call, on {@code cpus} (none:
     * unpinned), until {@link #stop()} or {@link #close()}.
     */
    public static LiveFrames start(String ns, String ifname, byte[] frame, int repeat, int... cpus) {
        return new LiveFrames(ns, ifname, frame, repeat, cpus);
    }

    private void loop(String ns, String ifname, byte[] frame, int repeat, int[] cpus) throws Throwable {
        if (cpus.length > 0) {
            Posix.setAffinity(cpus);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = ErrnoCalls.state(a);
            int fd = (int) OPEN.invokeExact(st, a.allocateFrom("/var/run/netns/" + ns), 0);
            if (fd < 0) {
                throw new NativeException("open(/var/run/netns/" + ns + ")", ErrnoCalls.errno(st));
            }
            int rc = (int) SETNS.invokeExact(st, fd, CLONE_NEWNET);
            int errno = ErrnoCalls.errno(st);
            Libc.close(fd);
            if (rc != 0) {
                throw new NativeException("setns(" + ns + ")", errno);
            }
            int ifindex = Libc.if_nametoindex(a.allocateFrom(ifname));
            try (BpfObject gen = BpfObject.openResource("/bpf/xdp_gen_tx.o").load()) {
                int progFd = gen.program("xdp_gen_tx").fd();
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
                bpf_test_run_opts.repeat(opts, repeat);
                bpf_test_run_opts.flags(opts, LIVE_FRAMES);
                bpf_test_run_opts.batch_size(opts, 64);
                while (!stop) {
                    int r = Libbpf.bpf_prog_test_run_opts(progFd, opts);
                    if (r < 0 && -r != Libc.EINTR()) { // a signal (JFR's sampler) only cuts a batch short
                        throw new NativeException(
                                "bpf_prog_test_run_opts(live frames on " + ifname + ")"
                                        + (-r == Libc.EPERM()
                                                ? " (this kernel refuses BPF_F_TEST_XDP_LIVE_FRAMES, even to root)"
                                                : ""),
                                -r);
                    }
                }
            }
        }
    }

    /** What ended the sender early, or null. */
    public Throwable failure() {
        return failure;
    }

    /** Stops sending and waits (30 s at most) for the thread; reports nothing. */
    public void stop() throws InterruptedException {
        stop = true;
        thread.join(30_000);
    }

    /** {@link #stop()}, then throws if the sender failed. */
    @Override
    public void close() throws InterruptedException {
        stop();
        if (failure != null) {
            throw new IllegalStateException("traffic generator failed: " + failure.getMessage(), failure);
        }
    }
}
