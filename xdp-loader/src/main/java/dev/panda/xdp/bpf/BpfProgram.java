package dev.panda.xdp.bpf;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.libbpf.Libbpf;
import dev.panda.jextract.libbpf.bpf_test_run_opts;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** One program of a {@link BpfObject}: its name, its fd once loaded, and a kernel test run. */
public final class BpfProgram {

    /** What {@link #testRun} returns: the program's return value and the packet it left. */
    public record TestRun(int retval, byte[] dataOut, int durationNs) {}

    private final BpfObject owner;
    private final MemorySegment prog;
    private final String name;

    BpfProgram(BpfObject owner, MemorySegment prog) {
        this.owner = owner;
        this.prog = prog;
        this.name = Libbpf.bpf_program__name(prog).reinterpret(256).getString(0);
    }

    public String name() {
        return name;
    }

    /** The program fd (owned by its object). */
    public int fd() {
        owner.requireLoaded();
        return Libbpf.bpf_program__fd(prog);
    }

    MemorySegment handle() {
        return prog;
    }

    /**
     * Runs the program once in the kernel on {@code packet} ({@code BPF_PROG_TEST_RUN}, through
     * {@code bpf_prog_test_run_opts}); maps are read and updated as on a real receive. XDP test
     * runs see {@code rx_queue_index} 0 and no real device, so a redirect into an XSKMAP returns
     * XDP_REDIRECT without delivering anything.
     */
    public TestRun testRun(byte[] packet, int repeat) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocate(Math.max(packet.length, 1));
            MemorySegment.copy(MemorySegment.ofArray(packet), 0, in, 0, packet.length);
            MemorySegment out = a.allocate(packet.length + 512L);
            MemorySegment opts = bpf_test_run_opts.allocate(a);
            bpf_test_run_opts.sz(opts, bpf_test_run_opts.sizeof());
            bpf_test_run_opts.data_in(opts, in);
            bpf_test_run_opts.data_size_in(opts, packet.length);
            bpf_test_run_opts.data_out(opts, out);
            bpf_test_run_opts.data_size_out(opts, (int) out.byteSize());
            bpf_test_run_opts.repeat(opts, Math.max(repeat, 1));
            BpfNative.check(Libbpf.bpf_prog_test_run_opts(fd(), opts), "bpf_prog_test_run_opts(" + name + ")");
            int outLen = Math.min(bpf_test_run_opts.data_size_out(opts), (int) out.byteSize());
            byte[] data = out.asSlice(0, outLen).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            return new TestRun(bpf_test_run_opts.retval(opts), data, bpf_test_run_opts.duration(opts));
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    @Override
    public String toString() {
        return "BpfProgram[" + name + "]";
    }
}
