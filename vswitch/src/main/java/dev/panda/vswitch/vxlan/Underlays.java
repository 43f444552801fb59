package dev.panda.vswitch.vxlan;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.config.VxlanConfig;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The open underlays, by device name, each with the count of tunnel ports using it: the first
 * tunnel opens the device, the last one to close closes it. Control side only (the caller holds
 * the vswitch's lock); the data path sees an underlay's tunnels through a volatile array.
 */
public final class Underlays {

    private final Map<String, Underlay> open = new LinkedHashMap<>();
    private final Ports drivers;
    private final PacketPool pool;

    public Underlays(Ports drivers, PacketPool pool) {
        this.drivers = drivers;
        this.pool = pool;
    }

    /** True if {@code deviceName} (e.g. {@code net_af_packet9}) is open as an underlay. */
    public boolean isOpen(String deviceName) {
        return open.containsKey(deviceName);
    }

    /**
     * Opens a tunnel port on its underlay (opening that first if no tunnel uses it yet). Refused
     * (409) when the underlay is open with another device string or another local address, or when
     * a tunnel with the same VNI and remote exists; 400/500 when the device does not open.
     */
    public VxlanPort openTunnel(String label, VxlanConfig c, int portId) {
        String name = c.underlayName();
        Underlay u = open.get(name);
        if (u != null) {
            if (!u.device.equals(c.underlay())) {
                throw VswitchException.conflict(label + ": underlay " + name + " is open as '" + u.device
                        + "'; tunnels sharing it give the same device string");
            }
            if (u.localIp != c.localAddress()) {
                throw VswitchException.conflict(label + ": underlay " + name + " has local address "
                        + VxlanConfig.ipv4Text(u.localIp) + "; tunnels sharing it give the same local");
            }
            for (VxlanPort t : u.tunnels()) {
                if (t.vni == c.vni() && t.remoteIp == c.remoteAddress()) {
                    throw VswitchException.conflict(label + ": a tunnel with vni " + c.vni() + " to " + c.remote()
                            + " is already open (" + t.name() + ")");
                }
            }
        } else {
            Port port;
            try {
                port = drivers.open(c.underlay(), PortContext.of(pool, portId));
            } catch (RuntimeException e) {
                throw new VswitchException(
                        e instanceof IllegalArgumentException ? 400 : 500, label + ": underlay: " + e.getMessage(), e);
            }
            u = new Underlay(c.underlay(), port, pool, c.localAddress());
            open.put(name, u);
        }
        Underlay under = u;
        VxlanPort[] holder = new VxlanPort[1];
        VxlanPort t = new VxlanPort(
                "vxlan" + c.vni() + "@" + c.remote(), c.vni(), c.remoteAddress(), u, () -> close(under, holder[0]));
        holder[0] = t;
        VxlanPort[] ts = Arrays.copyOf(u.tunnels(), u.tunnels().length + 1);
        ts[ts.length - 1] = t;
        u.setTunnels(ts);
        u.refs++;
        return t;
    }

    /** Takes the tunnel off its underlay, frees its inbox, and closes the underlay if it was the last. */
    private void close(Underlay u, VxlanPort t) {
        u.setTunnels(Arrays.stream(u.tunnels()).filter(x -> x != t).toArray(VxlanPort[]::new));
        u.whileOwner(t::drainInbox); // a pass that began with the old array has ended
        if (--u.refs == 0) {
            open.values().remove(u);
            u.port.close();
        }
    }
}
