package dev.panda.vswitch.config;

/**
 * A VXLAN tunnel port (RFC 7348): frames out of the bridge go to {@code remote} inside UDP 4789 with
 * VXLAN network identifier {@code vni}, from {@code local}, over the underlay device {@code
 * underlay} (a device string as for a port, e.g. {@code net_af_packet9,iface=eth1}), which panda
 * opens once for every tunnel port naming it. IPv4 underlay only.
 *
 * @param vni      the VXLAN network identifier, 0..16777215
 * @param local    this VTEP's IPv4 address on the underlay (panda answers ARP for it)
 * @param remote   the remote VTEP's IPv4 address (resolved by ARP on the underlay)
 * @param underlay the underlay's device string
 */
public record VxlanConfig(int vni, String local, String remote, String underlay) {

    public static final int MAX_VNI = (1 << 24) - 1;

    /** Refuses a bad tunnel with a one-line message naming the field. */
    public VxlanConfig {
        if (vni < 0 || vni > MAX_VNI) {
            throw new IllegalArgumentException("vni: " + vni + " is not a VNI (0.." + MAX_VNI + ")");
        }
        local = canonical("local", local);
        remote = canonical("remote", remote);
        if (underlay == null || underlay.isBlank()) {
            throw new IllegalArgumentException("underlay: needs a device string, e.g. 'net_af_packet9,iface=eth1'");
        }
        for (int i = 0; i < underlay.length(); i++) {
            if (underlay.charAt(i) < 0x20 || underlay.charAt(i) == 0x7f) {
                throw new IllegalArgumentException("underlay: control character in the device string");
            }
        }
        if (local.equals(remote)) {
            throw new IllegalArgumentException("remote: " + remote + " is the local address");
        }
    }

    /**
     * How the port shows as its {@code device}: the {@code panda ctl add-port} form, e.g. {@code
     * vxlan vni=42 local=198.18.0.1 remote=198.18.0.2 underlay='net_af_packet9,iface=eth1'}.
     */
    public String label() {
        return "vxlan vni=" + vni + " local=" + local + " remote=" + remote + " underlay='" + underlay + "'";
    }

    /** The underlay's device name (before the first comma), e.g. {@code net_af_packet9}. */
    public String underlayName() {
        return ConfigFilesReader.deviceName(underlay);
    }

    public int localAddress() {
        return ipv4(local);
    }

    public int remoteAddress() {
        return ipv4(remote);
    }

    private static String canonical(String field, String text) {
        if (text == null) {
            throw new IllegalArgumentException(field + ": needs an IPv4 address, e.g. 198.18.0.1");
        }
        int a = parseIpv4(text);
        if (a == -1 && !"255.255.255.255".equals(text)) {
            throw new IllegalArgumentException(field + ": '" + text + "' is not an IPv4 address (a.b.c.d)");
        }
        int top = a >>> 24;
        if (top == 0 || top == 127 || top >= 224) {
            throw new IllegalArgumentException(field + ": " + text + " is not a unicast address a VTEP can have");
        }
        return ipv4Text(a);
    }

    /** {@code a.b.c.d} of a big-endian address. */
    public static String ipv4Text(int a) {
        return (a >>> 24) + "." + ((a >>> 16) & 0xff) + "." + ((a >>> 8) & 0xff) + "." + (a & 0xff);
    }

    /** The address as a big-endian int. */
    public static int ipv4(String text) {
        int a = parseIpv4(text);
        if (a == -1 && !"255.255.255.255".equals(text)) {
            throw new IllegalArgumentException("'" + text + "' is not an IPv4 address");
        }
        return a;
    }

    /** Four decimal octets 0..255 without leading zeros; -1 (also 255.255.255.255) otherwise. */
    private static int parseIpv4(String s) {
        if (s.length() > 15) {
            return -1;
        }
        int value = 0;
        int octets = 0;
        int i = 0;
        while (octets < 4) {
            int start = i;
            int v = 0;
            while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                v = v * 10 + (s.charAt(i) - '0');
                i++;
            }
            int digits = i - start;
            if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s.charAt(start) == '0')) {
                return -1;
            }
            value = (value << 8) | v;
            octets++;
            if (octets < 4) {
                if (i >= s.length() || s.charAt(i) != '.') {
                    return -1;
                }
                i++;
            }
        }
        return i == s.length() ? value : -1;
    }
}
