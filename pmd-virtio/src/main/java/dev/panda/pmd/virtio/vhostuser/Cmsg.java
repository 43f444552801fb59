package dev.panda.pmd.virtio.vhostuser;

import dev.panda.jextract.Fd;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.libc.cmsghdr;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code CMSG_*} macros of {@code <sys/socket.h>}, which jextract cannot generate (they are
 * function-like), computed from the generated {@link cmsghdr} layout.
 *
 * <p>glibc ({@code bits/socket.h}): {@code CMSG_ALIGN(len)} rounds up to {@code sizeof(size_t)};
 * {@code CMSG_LEN(len) = CMSG_ALIGN(sizeof(struct cmsghdr)) + len};
 * {@code CMSG_SPACE(len) = CMSG_ALIGN(len) + CMSG_ALIGN(sizeof(struct cmsghdr))};
 * {@code CMSG_DATA(c)} is {@code c->__cmsg_data}, right after the aligned header. On x86_64
 * the header is 16 bytes, so {@code CMSG_LEN(4n) = 16 + 4n} and {@code CMSG_SPACE(4) = 24}.
 *
 * <p>Also builds and walks {@code SCM_RIGHTS} control messages (unix(7)).
 */
final class Cmsg {

    /** {@code sizeof(size_t)}: {@code cmsg_len} is a {@code size_t}. */
    static final long ALIGNMENT = cmsghdr.cmsg_len$layout().byteSize();

    /** {@code CMSG_ALIGN(sizeof(struct cmsghdr))}. */
    static final long HEADER = align(cmsghdr.sizeof());

    /** Offset of {@code CMSG_DATA(c)} from {@code c}. */
    static final long DATA_OFFSET = cmsghdr.__cmsg_data$offset();

    private static final int SOL_SOCKET = Libc.SOL_SOCKET();
    private static final int SCM_RIGHTS = Libc.SCM_RIGHTS();

    static {
        if (DATA_OFFSET != HEADER) {
            // glibc's CMSG_DATA is the flexible array member, which must start at the aligned end
            throw new ExceptionInInitializerError(
                    "cmsghdr layout: __cmsg_data at " + DATA_OFFSET + ", aligned header is " + HEADER);
        }
    }

    private Cmsg() {}

    /** {@code CMSG_ALIGN(len)}. */
    static long align(long len) {
        if (len < 0) {
            throw new IllegalArgumentException("negative length: " + len);
        }
        return (len + ALIGNMENT - 1) & -ALIGNMENT;
    }

    /** {@code CMSG_LEN(len)}: the value of {@code cmsg_len} for {@code len} bytes of data. */
    static long len(long len) {
        return HEADER + requireNonNegative(len);
    }

    /** {@code CMSG_SPACE(len)}: the control buffer bytes one message with {@code len} bytes of data takes. */
    static long space(long len) {
        return align(len) + HEADER;
    }

    /** A control buffer of one {@code SCM_RIGHTS} message carrying {@code fds}, in {@code arena}. */
    static MemorySegment rights(Arena arena, List<Fd> fds) {
        long dataBytes = (long) fds.size() * Integer.BYTES;
        MemorySegment control = arena.allocate(space(dataBytes), ALIGNMENT);
        cmsghdr.cmsg_len(control, len(dataBytes));
        cmsghdr.cmsg_level(control, SOL_SOCKET);
        cmsghdr.cmsg_type(control, SCM_RIGHTS);
        for (int i = 0; i < fds.size(); i++) {
            control.set(
                    ValueLayout.JAVA_INT,
                    DATA_OFFSET + (long) i * Integer.BYTES,
                    fds.get(i).value());
        }
        return control;
    }

    /**
     * Walks the {@code controlLen} bytes of control messages the kernel wrote
     * ({@code CMSG_FIRSTHDR}/{@code CMSG_NXTHDR}) and takes ownership of every descriptor in an
     * {@code SCM_RIGHTS} message.
     */
    static List<Fd> takeRights(MemorySegment control, long controlLen) {
        List<Fd> fds = new ArrayList<>();
        long at = 0;
        while (controlLen - at >= cmsghdr.sizeof()) {
            MemorySegment c = control.asSlice(at);
            long cmsgLen = cmsghdr.cmsg_len(c);
            if (cmsgLen < HEADER || cmsgLen > controlLen - at) {
                break;
            }
            if (cmsghdr.cmsg_level(c) == SOL_SOCKET && cmsghdr.cmsg_type(c) == SCM_RIGHTS) {
                long n = (cmsgLen - len(0)) / Integer.BYTES;
                for (long i = 0; i < n; i++) {
                    fds.add(new Fd(c.get(ValueLayout.JAVA_INT, DATA_OFFSET + i * Integer.BYTES)));
                }
            }
            at += align(cmsgLen);
        }
        return fds;
    }

    private static long requireNonNegative(long len) {
        if (len < 0) {
            throw new IllegalArgumentException("negative length: " + len);
        }
        return len;
    }
}
