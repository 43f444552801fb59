package dev.panda.vswitch;

import dev.panda.dataplane.port.DeviceSpec;
import dev.panda.dataplane.port.PciAllow;
import dev.panda.dataplane.port.PortDriver;
import dev.panda.dataplane.port.Ports;
import dev.panda.vswitch.bridge.VlanPolicy;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.ConfigDiff;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/** The checks {@link Vswitch#apply} makes before it opens anything. */
final class ApplyCheck {

    private ApplyCheck() {}

    /** The parsed device string, its driver known and its keys known to the driver. */
    static DeviceSpec device(String device, Ports drivers) {
        DeviceSpec spec = DeviceSpec.parse(device);
        if (!PciAllow.isPci(device)) {
            PortDriver driver = drivers.driverFor(spec);
            spec.requireKnownKeys(driver.name(), driver.keys());
        }
        return spec;
    }

    static String label(String bridge, String port) {
        return "port " + bridge + "/" + port;
    }

    /**
     * What {@code apply} can check without opening anything: names given once, device strings,
     * VLANs, table sizes, and that no device name a leaving port holds is opened again in the same
     * apply (the new device would open while the old one still runs). Returns each port's VLANs.
     */
    static Map<String, VlanPolicy> check(VswitchConfig running, VswitchConfig desired, ConfigDiff diff, Ports drivers) {
        Set<String> bridgeNames = new HashSet<>();
        Map<String, String> ports = new HashMap<>();
        Map<String, String> devices = new HashMap<>();
        Map<String, VlanPolicy> vlans = new HashMap<>();
        Map<String, String> underlays = new HashMap<>(); // device name -> first tunnel port on it
        Map<String, String> tunnels = new HashMap<>();
        for (BridgeConfig b : desired.bridges()) {
            if (b.name() == null || b.name().isBlank()) {
                throw VswitchException.badRequest("a bridge needs a name (nothing changed)");
            }
            if (!bridgeNames.add(b.name())) {
                throw VswitchException.conflict("bridge " + b.name() + " is given twice (nothing changed)");
            }
            if (b.macAging() < 1 || b.macTableSize() < 1 || b.macTableSize() > (1 << 24)) {
                throw VswitchException.badRequest("bridge " + b.name() + ": mac-aging " + b.macAging()
                        + " (>= 1) or mac-table-size " + b.macTableSize() + " (1.." + (1 << 24)
                        + ") out of range (nothing changed)");
            }
            for (PortConfig p : b.ports()) {
                if (p.name() == null || p.name().isBlank()) {
                    throw VswitchException.badRequest("bridge " + b.name() + ": a port needs a name (nothing changed)");
                }
                String label = label(b.name(), p.name());
                String twice = ports.putIfAbsent(p.name(), b.name());
                if (twice != null) {
                    throw VswitchException.conflict(
                            label + ": port " + p.name() + " is also on " + twice + " (nothing changed)");
                }
                if (p.device() == null || p.device().isBlank()) {
                    throw VswitchException.badRequest(label + ": needs a device string (nothing changed)");
                }
                DeviceSpec spec;
                try {
                    vlans.put(p.name(), VlanPolicy.of(p.tag(), p.trunks(), p.nativeVlan()));
                    spec = device(p.vxlan() != null ? p.vxlan().underlay() : p.device(), drivers);
                } catch (RuntimeException e) {
                    throw VswitchException.badRequest(label + ": " + e.getMessage() + " (nothing changed)");
                }
                if (p.vxlan() != null) {
                    String other = devices.get(spec.name());
                    if (other != null) {
                        throw VswitchException.conflict(label + ": underlay " + spec.name() + " is also port " + other
                                + "'s device (nothing changed)");
                    }
                    underlays.putIfAbsent(spec.name(), p.name());
                    String tunnel =
                            "vni " + p.vxlan().vni() + " to " + p.vxlan().remote();
                    String twin = tunnels.putIfAbsent(tunnel, p.name());
                    if (twin != null) {
                        throw VswitchException.conflict(
                                label + ": a tunnel with " + tunnel + " is also port " + twin + " (nothing changed)");
                    }
                    continue;
                }
                String user = underlays.get(spec.name());
                if (user != null) {
                    throw VswitchException.conflict(label + ": device " + spec.name() + " is the underlay of port "
                            + user + " (nothing changed)");
                }
                String other = devices.putIfAbsent(spec.name(), p.name());
                if (other != null) {
                    throw VswitchException.conflict(
                            label + ": device " + spec.name() + " is also port " + other + "'s (nothing changed)");
                }
            }
        }
        Set<String> reopened = new HashSet<>();
        for (ConfigDiff.PortChanged c : diff.of(ConfigDiff.PortChanged.class)) {
            if (c.reopens()) {
                reopened.add(c.port());
            }
        }
        for (BridgeConfig b : running.bridges()) {
            for (PortConfig r : b.ports()) {
                if (ports.containsKey(r.name()) && !reopened.contains(r.name())) {
                    continue; // stays with its device
                }
                String device = r.vxlan() != null
                        ? r.vxlan().underlayName()
                        : DeviceSpec.parse(r.device()).name();
                String taker = devices.get(device);
                if (taker == null && r.vxlan() == null) {
                    taker = underlays.get(device);
                }
                if (taker != null) {
                    throw VswitchException.conflict(label(ports.get(taker), taker) + ": device " + device
                            + " is still open as port " + r.name()
                            + " until this apply has closed it; give the new device another name (e.g. "
                            + device.replaceAll("[0-9]+$", "") + "9) or apply in two steps (nothing changed)");
                }
            }
        }
        return vlans;
    }
}
