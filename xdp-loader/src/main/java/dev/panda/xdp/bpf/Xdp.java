package dev.panda.xdp.bpf;

import dev.panda.jextract.NativeException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Loading an object and attaching one of its XDP programs in one step, with the error an
 * operator needs when a mode does not work: which modes do work on that interface.
 */
public final class Xdp {

    private Xdp() {}

    /** An object loaded for XDP and its attachment; closing detaches, then closes the object. */
    public record Loaded(BpfObject object, XdpAttachment attachment) implements AutoCloseable {
        @Override
        public void close() {
            try {
                attachment.close();
            } finally {
                object.close();
            }
        }
    }

    /**
     * Opens an object (with {@code opener}), loads it (for the NIC when {@code mode} is
     * offload) and attaches {@code program} to {@code iface}. On failure nothing stays loaded or
     * attached; an unsupported mode gives one error naming the modes that work.
     */
    public static Loaded load(
            Supplier<BpfObject> opener, String program, String iface, XdpMode mode, boolean detachOnExit) {
        int ifindex = XdpAttachment.ifindex(iface);
        BpfObject obj = opener.get();
        try {
            if (mode == XdpMode.OFFLOAD) {
                obj.offloadTo(ifindex);
            }
            try {
                obj.load();
            } catch (NativeException e) {
                if (mode == XdpMode.OFFLOAD) {
                    throw unsupported(iface, mode, e);
                }
                throw e;
            }
            BpfProgram p = obj.program(program);
            XdpAttachment a;
            try {
                a = XdpAttachment.attach(iface, p, mode, detachOnExit);
            } catch (NativeException e) {
                if (e.errno() == dev.panda.jextract.libc.Libc.EBUSY()
                        || e.errno() == dev.panda.jextract.libc.Libc.EEXIST()) {
                    throw new IllegalStateException(
                            iface + " already runs an XDP program in " + mode.label()
                                    + " mode (detach it first: panda xdp unload --iface " + iface + ")",
                            e);
                }
                throw unsupported(iface, mode, e);
            }
            return new Loaded(obj, a);
        } catch (RuntimeException e) {
            obj.close();
            throw e;
        }
    }

    private static UnsupportedOperationException unsupported(String iface, XdpMode mode, NativeException cause) {
        List<XdpMode> ok = workingModes(iface);
        StringBuilder sb = new StringBuilder();
        sb.append("XDP ").append(mode.label()).append(" mode does not work on ").append(iface);
        if (mode == XdpMode.OFFLOAD) {
            sb.append(" (its driver cannot run eBPF programs on the NIC)");
        }
        sb.append(": ")
                .append(cause.getMessage())
                .append(". Modes that work on ")
                .append(iface)
                .append(": ");
        if (ok.isEmpty()) {
            sb.append("none found");
        } else {
            for (int i = 0; i < ok.size(); i++) {
                sb.append(i == 0 ? "" : ", ").append(ok.get(i).label());
            }
        }
        return new UnsupportedOperationException(sb.toString(), cause);
    }

    /**
     * The modes in which a pass-everything probe program can be attached to {@code iface} right
     * now (each is detached again at once). A mode already in use counts as working.
     */
    public static List<XdpMode> workingModes(String iface) {
        List<XdpMode> ok = new ArrayList<>();
        int ifindex = XdpAttachment.ifindex(iface);
        for (XdpMode m : new XdpMode[] {XdpMode.NATIVE, XdpMode.SKB}) {
            if (XdpAttachment.attachedId(ifindex, m) != 0) {
                ok.add(m);
                continue;
            }
            try (BpfObject probe = BpfObject.openResource("/bpf/xdp_probe.o").load();
                    XdpAttachment a = XdpAttachment.attach(iface, probe.program("xdp_probe"), m, false)) {
                ok.add(a.mode());
            } catch (RuntimeException e) {
                // not supported in this mode
            }
        }
        try (BpfObject probe = BpfObject.openResource("/bpf/xdp_probe.o")
                        .offloadTo(ifindex)
                        .load();
                XdpAttachment a = XdpAttachment.attach(iface, probe.program("xdp_probe"), XdpMode.OFFLOAD, false)) {
            ok.add(a.mode());
        } catch (RuntimeException e) {
            // no offload
        }
        return ok;
    }
}
