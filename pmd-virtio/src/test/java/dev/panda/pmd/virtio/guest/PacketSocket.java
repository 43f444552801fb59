package dev.panda.pmd.virtio.guest;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.sockaddr_ll;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The guest kernel's side of the proof: an AF_PACKET raw socket bound to one interface
 * (packet(7)), so frames go through the kernel's own virtio-net driver. Outgoing frames are not
 * looped back to it (PACKET_IGNORE_OUTGOING). Test code: set-up allocations are fine.
 */
public final class PacketSocket implements AutoCloseable {

    private static final MethodHandle SOCKET = ErrnoCalls.link(Libc.socket$address(), Libc.socket$descriptor());
    private static final MethodHandle BIND = ErrnoCalls.link(Libc.bind$address(), Libc.bind$descriptor());
    private static final MethodHandle SETSOCKOPT =
            ErrnoCalls.link(Libc.setsockopt$address(), Libc.setsockopt$descriptor());
    private static final MethodHandle READ = ErrnoCalls.link(Libc.read$address(), Libc.read$descriptor());
    private static final MethodHandle WRITE = ErrnoCalls.link(Libc.write$address(), Libc.write$descriptor());
    private static final MethodHandle POLL = Libc.poll$handle();
    private static final MethodHandle NAMETOINDEX = Libc.if_nametoindex$handle();
    private static final int SOL_PACKET = 263; // linux/socket.h
    private static final int PACKET_IGNORE_OUTGOING = 23; // linux/if_packet.h

    private final Arena arena = Arena.ofShared();
    private final MemorySegment state = ErrnoCalls.state(arena);
    private final MemorySegment buf = arena.allocate(2048, 64);
    private final MemorySegment pollFd = arena.allocate(8, 8);
    private final Fd fd;

    public PacketSocket(String ifname) throws Throwable {
        int index = (int) NAMETOINDEX.invokeExact(arena.allocateFrom(ifname));
        if (index == 0) {
            throw new IllegalStateException("no interface " + ifname);
        }
        short proto = Short.reverseBytes((short) Uapi.ETH_P_ALL()); // network order
        int s = (int) SOCKET.invokeExact(state, Libc.AF_PACKET(), Libc.SOCK_RAW(), (int) proto & 0xffff);
        check(s, "socket(AF_PACKET)");
        fd = new Fd(s);
        MemorySegment one = arena.allocateFrom(ValueLayout.JAVA_INT, 1);
        check(
                (int) SETSOCKOPT.invokeExact(state, s, SOL_PACKET, PACKET_IGNORE_OUTGOING, one, 4),
                "PACKET_IGNORE_OUTGOING");
        MemorySegment sll = arena.allocate(sockaddr_ll.layout());
        sockaddr_ll.sll_family(sll, (short) Libc.AF_PACKET());
        sockaddr_ll.sll_protocol(sll, proto);
        sockaddr_ll.sll_ifindex(sll, index);
        check((int) BIND.invokeExact(state, s, sll, (int) sll.byteSize()), "bind(" + ifname + ")");
        pollFd.set(ValueLayout.JAVA_INT, 0, s);
        pollFd.set(ValueLayout.JAVA_SHORT, 4, (short) Libc.POLLIN());
    }

    private void check(int rc, String what) {
        if (rc < 0) {
            throw new NativeException(what, ErrnoCalls.errno(state));
        }
    }

    public void send(byte[] frame) throws Throwable {
        MemorySegment.copy(frame, 0, buf, ValueLayout.JAVA_BYTE, 0, frame.length);
        long n = (long) WRITE.invokeExact(state, fd.value(), buf, (long) frame.length);
        if (n != frame.length) {
            throw new NativeException("write(AF_PACKET, " + frame.length + ") = " + n, ErrnoCalls.errno(state));
        }
    }

    /** The next frame within {@code timeoutMillis}, or null. */
    public byte[] receive(int timeoutMillis) throws Throwable {
        int rc = (int) POLL.invokeExact(pollFd, 1L, timeoutMillis);
        if (rc <= 0) {
            return null;
        }
        long n = (long) READ.invokeExact(state, fd.value(), buf, buf.byteSize());
        if (n < 0) {
            throw new NativeException("read(AF_PACKET)", ErrnoCalls.errno(state));
        }
        return buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
    }

    @Override
    public void close() {
        fd.close();
        arena.close();
    }
}
