package dev.panda.vswitch.config;

import java.util.List;

/**
 * One bridge port as the config file and {@code panda ctl add-port} give it.
 *
 * @param name     the port's name on the bridge (unique in the vswitch), e.g. {@code vm1}
 * @param device   the device string, as for testpmd's {@code --vdev}, e.g. {@code net_vhost0,iface=/run/panda/vm1.sock}
 * @param tag      access VLAN (1..4094): untagged in, tag removed out; null if not an access port
 * @param trunks   VLANs carried tagged (1..4094); empty with no tag means every VLAN (untagged = VLAN 0)
 * @param nativeVlan the trunk's native VLAN (sent and received untagged), or null
 * @param rxFilter testpmd's {@code --rx-filter} value applied to every burst received, or null
 * @param vxlan    a VXLAN tunnel port's settings, or null for a device port; a tunnel port's {@code
 *     device} is {@link VxlanConfig#label()} (so comparing devices compares tunnels)
 */
public record PortConfig(
        String name,
        String device,
        Integer tag,
        List<Integer> trunks,
        Integer nativeVlan,
        String rxFilter,
        VxlanConfig vxlan) {

    public PortConfig {
        trunks = trunks == null ? List.of() : List.copyOf(trunks);
        if (vxlan != null) {
            device = vxlan.label();
        }
    }

    public PortConfig(
            String name, String device, Integer tag, List<Integer> trunks, Integer nativeVlan, String rxFilter) {
        this(name, device, tag, trunks, nativeVlan, rxFilter, null);
    }

    public static PortConfig of(String name, String device) {
        return new PortConfig(name, device, null, List.of(), null, null);
    }
}
