package dev.panda.dataplane.ports.tap;

import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.DeviceSpec;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortDriver;
import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import dev.panda.jextract.SockCalls;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.libc.ifreq;
import dev.panda.jextract.uapi.Uapi;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * {@code net_tap<N>[,iface=NAME][,mac=02:..]}: creates (or attaches to) the TAP interface NAME
 * (default {@code dtap<N>}, as DPDK's tap PMD names it) through /dev/net/tun, with a vnet header
 * and no offloads. The interface is the kernel's side; the port is panda's. A non-persistent
 * interface disappears when the port closes.
 */
public final class TapPortDriver implements PortDriver {

    static final String NAME = "net_tap";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "TAP interface with a vnet header, the kernel on the other side; iface=, mac=";
    }

    @Override
    public Set<String> keys() {
        return Set.of("iface", "mac");
    }

    @Override
    public Port open(DeviceSpec spec, PortContext ctx) {
        spec.requireKnownKeys(NAME, keys());
        String iface = spec.get("iface", "dtap" + spec.name().substring(NAME.length()));
        byte[] nameBytes = iface.getBytes(StandardCharsets.US_ASCII);
        if (nameBytes.length == 0 || nameBytes.length >= Libc.IFNAMSIZ()) {
            throw new DeviceException(
                    spec.name() + ": iface=" + iface + " must be 1.." + (Libc.IFNAMSIZ() - 1) + " characters");
        }
        if (ctx.pool().headroom() < TapPort.VNET_HDR) {
            throw new DeviceException(
                    spec.name() + ": the pool's headroom must hold the " + TapPort.VNET_HDR + "-byte vnet header");
        }
        long mac = spec.getMac("mac", 0x02_70_6e_00_00_00L | (ctx.portId() & 0xffff));
        Fd fd;
        try {
            fd = new Fd(SockCalls.open("/dev/net/tun", Libc.O_RDWR() | Libc.O_NONBLOCK() | Libc.O_CLOEXEC()));
        } catch (RuntimeException e) {
            throw new DeviceException(
                    spec.name() + ": " + e.getMessage() + " (needs the tun module and CAP_NET_ADMIN)", e);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = a.allocate(ifreq.layout());
            MemorySegment.copy(nameBytes, 0, ifr, ValueLayout.JAVA_BYTE, 0, nameBytes.length);
            ifr.set(ValueLayout.JAVA_SHORT, 16, (short) (Uapi.IFF_TAP() | Uapi.IFF_NO_PI() | Uapi.IFF_VNET_HDR()));
            ioctl(fd, Uapi.TUNSETIFF(), ifr, "TUNSETIFF(" + iface + ")");
            ioctl(
                    fd,
                    Uapi.TUNSETVNETHDRSZ(),
                    a.allocateFrom(ValueLayout.JAVA_INT, TapPort.VNET_HDR),
                    "TUNSETVNETHDRSZ");
            if (Posix.ioctl(fd, Uapi.TUNSETOFFLOAD(), 0L) < 0) {
                throw new IllegalStateException("TUNSETOFFLOAD(0) failed");
            }
            String actual = ifr.getString(0, StandardCharsets.US_ASCII);
            return new TapPort(spec.name(), actual, ctx.pool(), fd, mac);
        } catch (RuntimeException e) {
            fd.close();
            throw new DeviceException(spec.name() + ": cannot set up TAP " + iface + ": " + e.getMessage(), e);
        }
    }

    private static void ioctl(Fd fd, long req, MemorySegment arg, String what) {
        if (Posix.ioctl(fd, req, arg) < 0) {
            throw new IllegalStateException(what + " failed");
        }
    }
}
