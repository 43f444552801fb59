package dev.panda.jextract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panda.jextract.libbpf.Libbpf;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.libc.cmsghdr;
import dev.panda.jextract.libc.iovec;
import dev.panda.jextract.libc.msghdr;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Method;
import org.junit.jupiter.api.Test;

/** The generated downcalls work as called directly (no errno capture), the way the PMDs will use them. */
class GeneratedBindingsTest {

    /** Two eventfds cross a unix socketpair in one SCM_RIGHTS message, with one payload byte. */
    @Test
    void scmRightsThroughSocketpair() {
        try (Arena arena = Arena.ofConfined();
                Fd a = Posix.eventfd(0, Posix.EFD_CLOEXEC);
                Fd b = Posix.eventfd(0, Posix.EFD_CLOEXEC)) {
            MemorySegment pair = arena.allocate(ValueLayout.JAVA_INT, 2);
            assertEquals(0, Libc.socketpair(Libc.AF_UNIX(), Libc.SOCK_STREAM() | Libc.SOCK_CLOEXEC(), 0, pair));
            try (Fd left = new Fd(pair.getAtIndex(ValueLayout.JAVA_INT, 0));
                    Fd right = new Fd(pair.getAtIndex(ValueLayout.JAVA_INT, 1))) {
                MemorySegment out = message(arena, 2);
                MemorySegment outCmsg = msghdr.msg_control(out);
                cmsghdr.cmsg_level(outCmsg, Libc.SOL_SOCKET());
                cmsghdr.cmsg_type(outCmsg, Libc.SCM_RIGHTS());
                cmsghdr.cmsg_len(outCmsg, cmsgLen(2 * Integer.BYTES));
                MemorySegment fds = outCmsg.asSlice(cmsghdr.sizeof(), 2L * Integer.BYTES);
                fds.setAtIndex(ValueLayout.JAVA_INT, 0, a.value());
                fds.setAtIndex(ValueLayout.JAVA_INT, 1, b.value());
                assertEquals(1, Libc.sendmsg(left.value(), out, Libc.MSG_NOSIGNAL()));

                MemorySegment in = message(arena, 2);
                assertEquals(1, Libc.recvmsg(right.value(), in, Libc.MSG_CMSG_CLOEXEC()));
                assertEquals(0, msghdr.msg_flags(in) & Libc.MSG_CTRUNC());
                MemorySegment inCmsg = msghdr.msg_control(in);
                assertEquals(Libc.SCM_RIGHTS(), cmsghdr.cmsg_type(inCmsg));
                assertEquals(cmsgLen(2 * Integer.BYTES), cmsghdr.cmsg_len(inCmsg));
                MemorySegment got = inCmsg.asSlice(cmsghdr.sizeof(), 2L * Integer.BYTES);
                try (Fd a2 = new Fd(got.getAtIndex(ValueLayout.JAVA_INT, 0));
                        Fd b2 = new Fd(got.getAtIndex(ValueLayout.JAVA_INT, 1))) {
                    Posix.eventfdWrite(a2, 5); // a received fd is the same eventfd
                    Posix.eventfdWrite(b, 7);
                    assertEquals(5, Posix.eventfdRead(a));
                    assertEquals(7, Posix.eventfdRead(b2));
                }
            }
        }
    }

    /** A msghdr with one 1-byte iovec and a control buffer for {@code fds} descriptors. */
    private static MemorySegment message(Arena arena, int fds) {
        MemorySegment msg = msghdr.allocate(arena);
        MemorySegment iov = iovec.allocate(arena);
        iovec.iov_base(iov, arena.allocate(1));
        iovec.iov_len(iov, 1);
        msghdr.msg_iov(msg, iov);
        msghdr.msg_iovlen(msg, 1);
        long space = cmsgSpace(fds * Integer.BYTES); // CMSG_SPACE is a function-like macro
        msghdr.msg_control(msg, arena.allocate(space, 8));
        msghdr.msg_controllen(msg, space);
        return msg;
    }

    private static long cmsgLen(long data) {
        return cmsghdr.sizeof() + data;
    }

    private static long cmsgSpace(long data) {
        return cmsghdr.sizeof() + ((data + 7) & ~7L);
    }

    /** The hand-written errno names agree with the errno constants jextract read from the headers. */
    @Test
    void errnoNamesMatchTheHeaders() throws Exception {
        int checked = 0;
        for (int errno = 1; errno < 4096; errno++) {
            String name = Posix.errnoName(errno);
            if (name.startsWith("errno ")) {
                continue;
            }
            if (name.equals("ENOTSUPP")) { // kernel-internal: no userspace header defines it
                continue;
            }
            Method constant = Libc.class.getMethod(name);
            assertEquals(errno, (int) constant.invoke(null), name);
            checked++;
        }
        assertTrue(checked > 70, "checked " + checked);
    }

    @Test
    void libbpfLoads() {
        boolean present;
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup.libraryLookup("libbpf.so.1", arena);
            present = true;
        } catch (IllegalArgumentException e) {
            present = false;
        }
        assumeTrue(present, "libbpf.so.1 not installed");
        assertEquals(1, Libbpf.libbpf_major_version());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(128);
            assertEquals(0, Libbpf.libbpf_strerror(-Libc.ENOENT(), buf, buf.byteSize()));
            assertEquals("No such file or directory", buf.getString(0));
        }
    }
}
