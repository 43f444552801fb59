package dev.panda.pmd.virtio.vduse;

import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.SockCalls;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.Uapi;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * What {@code vdpa dev add name NAME mgmtdev vduse} and {@code vdpa dev del NAME} do, by hand over
 * an AF_NETLINK socket (no library does generic netlink for the JVM): resolve the "vdpa" family
 * with CTRL_CMD_GETFAMILY, then VDPA_CMD_DEV_NEW (VDPA_ATTR_MGMTDEV_DEV_NAME, VDPA_ATTR_DEV_NAME)
 * or VDPA_CMD_DEV_DEL with NLM_F_ACK, and read the kernel's NLMSG_ERROR answer (0: done).
 * Messages: nlmsghdr (16 bytes), genlmsghdr (4), then nlattrs (4-byte header, 4-byte aligned).
 */
final class VdpaNetlink implements AutoCloseable {

    private static final int NLMSG_HDRLEN = 16;
    private static final int GENL_HDRLEN = 4;

    private final Fd fd;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment buf = arena.allocate(8192, 8);
    private int seq = (int) (System.nanoTime() & 0x7fff_ffff);
    private final int family;

    VdpaNetlink() {
        this.fd = new Fd(SockCalls.socket(
                Libc.AF_NETLINK(),
                Libc.SOCK_RAW() | Libc.SOCK_CLOEXEC(),
                Uapi.NETLINK_GENERIC(),
                "socket(AF_NETLINK)"));
        try {
            this.family = resolveFamily();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** VDPA_CMD_DEV_NEW: the VDUSE device {@code name} on the bus (virtio_vdpa or vhost_vdpa probes it). */
    void add(String name) {
        int at = header(
                family, Uapi.NLM_F_REQUEST() | Uapi.NLM_F_ACK(), Uapi.VDPA_CMD_DEV_NEW(), Uapi.VDPA_GENL_VERSION());
        at = stringAttr(at, Uapi.VDPA_ATTR_MGMTDEV_DEV_NAME(), "vduse");
        at = stringAttr(at, Uapi.VDPA_ATTR_DEV_NAME(), name);
        transact(at, "vdpa dev add name " + name + " mgmtdev vduse");
    }

    /** VDPA_CMD_DEV_DEL. Returns false when there was no such device (ENODEV). */
    boolean delete(String name) {
        int at = header(
                family, Uapi.NLM_F_REQUEST() | Uapi.NLM_F_ACK(), Uapi.VDPA_CMD_DEV_DEL(), Uapi.VDPA_GENL_VERSION());
        at = stringAttr(at, Uapi.VDPA_ATTR_DEV_NAME(), name);
        try {
            transact(at, "vdpa dev del " + name);
            return true;
        } catch (NativeException e) {
            if (e.errno() == Libc.ENODEV()) {
                return false;
            }
            throw e;
        }
    }

    private int resolveFamily() {
        int at = header(Uapi.GENL_ID_CTRL(), Uapi.NLM_F_REQUEST(), Uapi.CTRL_CMD_GETFAMILY(), 1);
        at = stringAttr(at, Uapi.CTRL_ATTR_FAMILY_NAME(), "vdpa");
        send(at);
        long n = Vduse.read(fd, buf, buf.byteSize());
        if (n < NLMSG_HDRLEN) {
            throw new IllegalStateException("generic netlink: a reply of " + n + " bytes");
        }
        int type = buf.get(ValueLayout.JAVA_SHORT, 4) & 0xffff;
        if (type == Uapi.NLMSG_ERROR()) {
            int err = -buf.get(ValueLayout.JAVA_INT, NLMSG_HDRLEN);
            throw new NativeException("generic netlink family 'vdpa' (is the vdpa module loaded?)", err);
        }
        int len = Math.min((int) n, buf.get(ValueLayout.JAVA_INT, 0));
        for (int p = NLMSG_HDRLEN + GENL_HDRLEN; p + 4 <= len; ) {
            int alen = buf.get(ValueLayout.JAVA_SHORT, p) & 0xffff;
            int atype = buf.get(ValueLayout.JAVA_SHORT, p + 2) & 0x3fff;
            if (alen < 4) {
                break;
            }
            if (atype == Uapi.CTRL_ATTR_FAMILY_ID() && alen >= 6) {
                return buf.get(ValueLayout.JAVA_SHORT, p + 4) & 0xffff;
            }
            p += (alen + 3) & ~3;
        }
        throw new IllegalStateException("generic netlink: no CTRL_ATTR_FAMILY_ID for 'vdpa'");
    }

    private int header(int type, int flags, int cmd, int version) {
        buf.asSlice(0, NLMSG_HDRLEN + GENL_HDRLEN).fill((byte) 0);
        buf.set(ValueLayout.JAVA_SHORT, 4, (short) type);
        buf.set(ValueLayout.JAVA_SHORT, 6, (short) flags);
        buf.set(ValueLayout.JAVA_INT, 8, ++seq);
        buf.set(ValueLayout.JAVA_BYTE, NLMSG_HDRLEN, (byte) cmd);
        buf.set(ValueLayout.JAVA_BYTE, NLMSG_HDRLEN + 1, (byte) version);
        return NLMSG_HDRLEN + GENL_HDRLEN;
    }

    private int stringAttr(int at, int type, String value) {
        byte[] v = (value + "\0").getBytes(StandardCharsets.US_ASCII);
        int len = 4 + v.length;
        buf.set(ValueLayout.JAVA_SHORT, at, (short) len);
        buf.set(ValueLayout.JAVA_SHORT, at + 2, (short) type);
        MemorySegment.copy(v, 0, buf, ValueLayout.JAVA_BYTE, at + 4, v.length);
        int next = (at + len + 3) & ~3;
        buf.asSlice(at + len, next - at - len).fill((byte) 0);
        return next;
    }

    private void send(int length) {
        buf.set(ValueLayout.JAVA_INT, 0, length);
        Vduse.write(fd, buf, length);
    }

    /** Sends the request built in {@code buf} and waits for its NLMSG_ERROR (0: done; else throws). */
    private void transact(int length, String what) {
        send(length);
        int want = seq;
        while (true) {
            long n = Vduse.read(fd, buf, buf.byteSize());
            for (int p = 0; p + NLMSG_HDRLEN <= n; ) {
                int len = buf.get(ValueLayout.JAVA_INT, p);
                int type = buf.get(ValueLayout.JAVA_SHORT, p + 4) & 0xffff;
                int s = buf.get(ValueLayout.JAVA_INT, p + 8);
                if (len < NLMSG_HDRLEN) {
                    throw new IllegalStateException(what + ": a netlink message of " + len + " bytes");
                }
                if (type == Uapi.NLMSG_ERROR() && s == want) {
                    int err = -buf.get(ValueLayout.JAVA_INT, p + NLMSG_HDRLEN);
                    if (err != 0) {
                        throw new NativeException(what, err);
                    }
                    return;
                }
                p += (len + 3) & ~3;
            }
        }
    }

    @Override
    public void close() {
        fd.close();
        arena.close();
    }
}
