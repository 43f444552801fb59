package dev.panda.xdp.bpf;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.SockCalls;
import dev.panda.jextract.libbpf.Libbpf;
import dev.panda.jextract.libc.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * An XDP program attached to an interface in one {@link XdpMode} ({@code bpf_xdp_attach}, the
 * IFLA_XDP netlink attribute). {@link #close()} detaches it, but only while the interface still
 * runs this very program (checked by program id, so a program someone else attached since is
 * left alone). Attachments made with {@code detachOnExit} are also detached by a JVM shutdown
 * hook; ones made without it outlive the process (the {@code panda xdp load} case).
 */
public final class XdpAttachment implements AutoCloseable {

    private static final Set<XdpAttachment> LIVE = new LinkedHashSet<>();
    private static boolean hookInstalled;

    private final String iface;
    private final int ifindex;
    private final XdpMode mode;
    private final int progId;
    private boolean closed;

    private XdpAttachment(String iface, int ifindex, XdpMode mode, int progId) {
        this.iface = iface;
        this.ifindex = ifindex;
        this.mode = mode;
        this.progId = progId;
    }

    /**
     * Attaches {@code prog} to {@code iface} in {@code mode}, replacing nothing: an interface
     * that already runs an XDP program in that mode fails with EBUSY. Offload needs a program
     * loaded for the device ({@link BpfObject#offloadTo}); {@link Xdp#load} does that.
     */
    public static XdpAttachment attach(String iface, BpfProgram prog, XdpMode mode, boolean detachOnExit) {
        int ifindex = ifindex(iface);
        int fd = prog.fd();
        int rc = Libbpf.bpf_xdp_attach(
                ifindex, fd, mode.flag() | 1 /* XDP_FLAGS_UPDATE_IF_NOEXIST */, MemorySegment.NULL);
        if (rc < 0) {
            throw new NativeException("bpf_xdp_attach(" + iface + ", " + prog.name() + ", " + mode.label() + ")", -rc);
        }
        XdpAttachment a = new XdpAttachment(iface, ifindex, mode, progId(fd));
        if (detachOnExit) {
            register(a);
        }
        return a;
    }

    /** The interface index of {@code iface}, or a clear error when there is no such interface. */
    public static int ifindex(String iface) {
        return SockCalls.ifindex(iface);
    }

    /** The kernel id of a loaded program ({@code bpf_prog_info.id}). */
    static int progId(int progFd) {
        try (Arena a = Arena.ofConfined()) {
            // struct bpf_prog_info (linux/bpf.h) begins with u32 type, u32 id
            MemorySegment info = a.allocate(256, 8);
            MemorySegment len = a.allocateFrom(ValueLayout.JAVA_INT, 256);
            int rc = (int) BpfNative.OBJ_GET_INFO.invokeExact(progFd, info, len);
            BpfNative.check(rc, "bpf_obj_get_info_by_fd(program)");
            return info.get(ValueLayout.JAVA_INT, 4);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /** The id of the program attached to {@code ifindex} in {@code mode}, 0 when none. */
    public static int attachedId(int ifindex, XdpMode mode) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment id = a.allocate(ValueLayout.JAVA_INT);
            int rc = Libbpf.bpf_xdp_query_id(ifindex, mode.flag(), id);
            if (rc < 0) {
                throw new NativeException("bpf_xdp_query_id(" + ifindex + ")", -rc);
            }
            return id.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** Detaches whatever XDP program runs on {@code iface} in {@code mode}; false when none did. */
    public static boolean detachAny(String iface, XdpMode mode) {
        int idx = ifindex(iface);
        if (attachedId(idx, mode) == 0) {
            return false;
        }
        BpfNative.check(Libbpf.bpf_xdp_detach(idx, mode.flag(), MemorySegment.NULL), "bpf_xdp_detach(" + iface + ")");
        return true;
    }

    public String iface() {
        return iface;
    }

    public int ifindex() {
        return ifindex;
    }

    public XdpMode mode() {
        return mode;
    }

    public int programId() {
        return progId;
    }

    /** True while the interface still runs the program this attachment put there. */
    public boolean isAttached() {
        try {
            return attachedId(ifindex, mode) == progId;
        } catch (NativeException e) {
            return false; // interface gone
        }
    }

    @Override
    public void close() {
        synchronized (LIVE) {
            if (closed) {
                return;
            }
            closed = true;
            LIVE.remove(this);
        }
        if (isAttached()) {
            int rc = Libbpf.bpf_xdp_detach(ifindex, mode.flag(), MemorySegment.NULL);
            if (rc < 0 && rc != -Libc.ENODEV()) {
                throw new NativeException("bpf_xdp_detach(" + iface + ", " + mode.label() + ")", -rc);
            }
        }
    }

    private static void register(XdpAttachment a) {
        synchronized (LIVE) {
            LIVE.add(a);
            if (!hookInstalled) {
                hookInstalled = true;
                Runtime.getRuntime().addShutdownHook(new Thread(XdpAttachment::detachAllAtExit, "panda-xdp-detach"));
            }
        }
    }

    private static void detachAllAtExit() {
        List<XdpAttachment> all;
        synchronized (LIVE) {
            all = new ArrayList<>(LIVE);
        }
        for (XdpAttachment a : all) {
            try {
                a.close();
            } catch (RuntimeException e) {
                System.err.println("xdp: detach from " + a.iface + " at exit failed: " + e.getMessage());
            }
        }
    }

    @Override
    public String toString() {
        return "XdpAttachment[" + iface + " (" + ifindex + "), " + mode.label() + ", prog id " + progId + "]";
    }
}
