package dev.panda.jextract;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * libpcap's filter compiler (Debian's libpcap 1.10, {@code libpcap.so.0.8}): a tcpdump filter
 * expression to classic BPF, as {@code pcap_compile} on a dead handle ({@code pcap_open_dead}) makes
 * it, and {@code pcap_offline_filter} to run such a program the way libpcap does (tests compare
 * panda's interpreter with it). Hand-written (five functions and two structs, pcap/pcap.h and
 * pcap/bpf.h): {@code scripts/jextract} needs the jextract tool, which this machine does not have.
 *
 * <p>Availability is probed once: {@link #isAvailable()}, {@link #unavailabilityCause()}.
 */
public final class Pcap {

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;

    /** {@code DLT_EN10MB}: Ethernet frames. */
    public static final int DLT_EN10MB = 1;

    /** {@code PCAP_NETMASK_UNKNOWN}. */
    public static final int NETMASK_UNKNOWN = 0xffffffff;

    /** {@code struct bpf_insn { u_short code; u_char jt; u_char jf; bpf_u_int32 k; }}. */
    public static final StructLayout BPF_INSN = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT.withName("code"),
            ValueLayout.JAVA_BYTE.withName("jt"),
            ValueLayout.JAVA_BYTE.withName("jf"),
            ValueLayout.JAVA_INT.withName("k"));

    /** {@code struct bpf_program { u_int bf_len; struct bpf_insn *bf_insns; }}. */
    public static final StructLayout BPF_PROGRAM = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("bf_len"),
            MemoryLayout.paddingLayout(4),
            ValueLayout.ADDRESS.withName("bf_insns"));

    /** {@code struct pcap_pkthdr { struct timeval ts; bpf_u_int32 caplen; bpf_u_int32 len; }}. */
    public static final StructLayout PKTHDR = MemoryLayout.structLayout(
            ValueLayout.JAVA_LONG.withName("tv_sec"),
            ValueLayout.JAVA_LONG.withName("tv_usec"),
            ValueLayout.JAVA_INT.withName("caplen"),
            ValueLayout.JAVA_INT.withName("len"));

    private static final Handles HANDLES;
    private static final Throwable CAUSE;

    static {
        Handles h = null;
        Throwable cause = null;
        try {
            h = new Handles(SymbolLookup.libraryLookup("libpcap.so.0.8", Arena.global()));
        } catch (RuntimeException e) {
            cause = e;
        }
        HANDLES = h;
        CAUSE = cause;
    }

    private record Handles(
            MethodHandle openDead,
            MethodHandle compile,
            MethodHandle freecode,
            MethodHandle geterr,
            MethodHandle close,
            MethodHandle offlineFilter) {

        Handles(SymbolLookup lib) {
            this(
                    link(lib, "pcap_open_dead", FunctionDescriptor.of(ValueLayout.ADDRESS, INT, INT)),
                    link(
                            lib,
                            "pcap_compile",
                            FunctionDescriptor.of(
                                    INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, INT, INT)),
                    link(lib, "pcap_freecode", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS)),
                    link(lib, "pcap_geterr", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS)),
                    link(lib, "pcap_close", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS)),
                    link(
                            lib,
                            "pcap_offline_filter",
                            FunctionDescriptor.of(INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS)));
        }
    }

    private static MethodHandle link(SymbolLookup lib, String name, FunctionDescriptor d) {
        MemorySegment sym = lib.find(name).orElseThrow(() -> new IllegalStateException("libpcap has no " + name));
        return Linker.nativeLinker().downcallHandle(sym, d);
    }

    private Pcap() {}

    /** True when libpcap could be loaded. */
    public static boolean isAvailable() {
        return HANDLES != null;
    }

    /** Why libpcap could not be loaded, or null. */
    public static Throwable unavailabilityCause() {
        return CAUSE;
    }

    /** A compile failure: libpcap's own message ({@code pcap_geterr}). */
    public static final class CompileException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public CompileException(String message) {
            super(message);
        }
    }

    private static Handles handles() {
        if (HANDLES == null) {
            throw new IllegalStateException(
                    "libpcap (libpcap.so.0.8) is not available: " + CAUSE.getMessage() + " (install libpcap-dev)");
        }
        return HANDLES;
    }

    /**
     * Compiles {@code expression} (tcpdump syntax) for Ethernet frames of at most {@code snaplen}
     * bytes, optimised, and returns the instructions as {@code {code, jt, jf, k}} longs packed
     * {@code code<<48 | jt<<40 | jf<<32 | k}. Serialised: one compile at a time.
     *
     * @throws CompileException with libpcap's message when the expression does not compile
     */
    public static synchronized long[] compile(String expression, int snaplen) {
        Handles h = handles();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pcap = (MemorySegment) h.openDead().invokeExact(DLT_EN10MB, snaplen);
            if (pcap.equals(MemorySegment.NULL)) {
                throw new IllegalStateException("pcap_open_dead(DLT_EN10MB, " + snaplen + ") failed");
            }
            try {
                MemorySegment prog = arena.allocate(BPF_PROGRAM);
                int rc = (int) h.compile().invokeExact(pcap, prog, arena.allocateFrom(expression), 1, NETMASK_UNKNOWN);
                if (rc != 0) {
                    MemorySegment err = (MemorySegment) h.geterr().invokeExact(pcap);
                    throw new CompileException(err.reinterpret(1024).getString(0));
                }
                try {
                    int n = prog.get(ValueLayout.JAVA_INT, 0);
                    MemorySegment insns = prog.get(ValueLayout.ADDRESS, 8).reinterpret(BPF_INSN.byteSize() * n);
                    long[] out = new long[n];
                    for (int i = 0; i < n; i++) {
                        long o = i * BPF_INSN.byteSize();
                        long code = Short.toUnsignedLong(insns.get(ValueLayout.JAVA_SHORT, o));
                        long jt = Byte.toUnsignedLong(insns.get(ValueLayout.JAVA_BYTE, o + 2));
                        long jf = Byte.toUnsignedLong(insns.get(ValueLayout.JAVA_BYTE, o + 3));
                        long k = Integer.toUnsignedLong(insns.get(ValueLayout.JAVA_INT, o + 4));
                        out[i] = code << 48 | jt << 40 | jf << 32 | k;
                    }
                    return out;
                } finally {
                    h.freecode().invokeExact(prog);
                }
            } finally {
                h.close().invokeExact(pcap);
            }
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /**
     * Runs {@code expression} compiled by libpcap over one frame with libpcap's own interpreter
     * ({@code pcap_offline_filter}); returns its verdict (0: rejected, else the snap length).
     */
    public static synchronized int offlineFilter(String expression, int snaplen, byte[] frame) {
        Handles h = handles();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pcap = (MemorySegment) h.openDead().invokeExact(DLT_EN10MB, snaplen);
            try {
                MemorySegment prog = arena.allocate(BPF_PROGRAM);
                int rc = (int) h.compile().invokeExact(pcap, prog, arena.allocateFrom(expression), 1, NETMASK_UNKNOWN);
                if (rc != 0) {
                    MemorySegment err = (MemorySegment) h.geterr().invokeExact(pcap);
                    throw new CompileException(err.reinterpret(1024).getString(0));
                }
                try {
                    MemorySegment hdr = arena.allocate(PKTHDR);
                    hdr.set(ValueLayout.JAVA_INT, 16, frame.length);
                    hdr.set(ValueLayout.JAVA_INT, 20, frame.length);
                    MemorySegment data = arena.allocate(Math.max(1, frame.length));
                    MemorySegment.copy(frame, 0, data, ValueLayout.JAVA_BYTE, 0, frame.length);
                    return (int) h.offlineFilter().invokeExact(prog, hdr, data);
                } finally {
                    h.freecode().invokeExact(prog);
                }
            } finally {
                h.close().invokeExact(pcap);
            }
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }
}
