package dev.panda.dataplane.port;

import dev.panda.jextract.SockCalls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * What the ports bound to a kernel network interface (AF_XDP, AF_PACKET) ask about it at open
 * time and from the control path: its index, its MAC and its link state, from if_nametoindex(3)
 * and {@code /sys/class/net/IF}.
 */
public final class KernelInterface {

    /** The MAC a port reports when the interface's address cannot be read. */
    public static final long FALLBACK_MAC = 0x02_70_6e_00_00_00L;

    private KernelInterface() {}

    /** The index of {@code iface}, or a {@link DeviceException} naming the device and the interface. */
    public static int index(DeviceSpec spec, String iface) {
        try {
            return SockCalls.ifindex(iface);
        } catch (IllegalArgumentException e) {
            throw new DeviceException(spec.name() + ": " + e.getMessage());
        }
    }

    /** The interface's MAC from sysfs as a 48-bit value, or {@link #FALLBACK_MAC}. */
    public static long mac(String iface) {
        try {
            byte[] b = HexFormat.ofDelimiter(":")
                    .parseHex(Files.readString(Path.of("/sys/class/net", iface, "address"))
                            .trim());
            return DeviceSpec.macValue(b);
        } catch (IOException | IllegalArgumentException e) {
            return FALLBACK_MAC;
        }
    }

    /**
     * The link from {@code /sys/class/net/IF/operstate}: "up" and "unknown" (veth and tun report
     * it) are up at a nominal 10 Gb/s, anything else down.
     */
    public static LinkStatus link(String iface) {
        try {
            String state = Files.readString(Path.of("/sys/class/net", iface, "operstate"))
                    .trim();
            return state.equals("up") || state.equals("unknown") ? LinkStatus.VIRTUAL_UP : LinkStatus.DOWN;
        } catch (IOException e) {
            return LinkStatus.DOWN;
        }
    }
}
