package dev.panda.pmd.virtio.guest;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.sockaddr_ll;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * A sender for rate measurements in a guest: an AF_PACKET raw socket bound to one interface
 * (packet(7)) that writes one prepared frame again and again, one write(2) each, and reports a
 * refusal (ENOBUFS: the queue was full) instead of throwing. Used from one thread.
 */
public final class FrameBlaster implements AutoCloseable {

    private static final MethodHandle SOCKET = ErrnoCalls.link(Libc.socket$address(), Libc.socket$descriptor());
    private static final MethodHandle BIND = ErrnoCalls.link(Libc.bind$address(), Libc.bind$descriptor());
    private static final MethodHandle WRITE = ErrnoCalls.link(Libc.write$address(), Libc.write$descriptor());

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment state = ErrnoCalls.state(arena);
    private final MemorySegment buf;
    private final Fd fd;
    private final int fdValue;

    public FrameBlaster(String ifname, byte[] frame, int etherType) throws Throwable {
        int index = Libc.if_nametoindex(arena.allocateFrom(ifname));
        if (index == 0) {
            throw new IllegalStateException("no interface " + ifname);
        }
        short proto = Short.reverseBytes((short) etherType);
        int s = (int) SOCKET.invokeExact(state, Libc.AF_PACKET(), Libc.SOCK_RAW(), (int) proto & 0xffff);
        if (s < 0) {
            throw new NativeException("socket(AF_PACKET)", ErrnoCalls.errno(state));
        }
        fd = new Fd(s);
        fdValue = s;
        MemorySegment sll = arena.allocate(sockaddr_ll.layout());
        sockaddr_ll.sll_family(sll, (short) Libc.AF_PACKET());
        sockaddr_ll.sll_protocol(sll, proto);
        sockaddr_ll.sll_ifindex(sll, index);
        if ((int) BIND.invokeExact(state, s, sll, (int) sll.byteSize()) < 0) {
            fd.close();
            throw new NativeException("bind(" + ifname + ")", ErrnoCalls.errno(state));
        }
        buf = arena.allocate(frame.length, 64);
        MemorySegment.copy(frame, 0, buf, ValueLayout.JAVA_BYTE, 0, frame.length);
    }

    /** One write; false when the kernel refused it (ENOBUFS: its queue was full). */
    public boolean send() throws Throwable {
        return (long) WRITE.invokeExact(state, fdValue, buf, buf.byteSize()) == buf.byteSize();
    }

    @Override
    public void close() {
        fd.close();
        arena.close();
    }
}
