package dev.panda.vswitch.flow;

/**
 * The match fields a flow may name, with their OpenFlow 1.3 OXM field numbers (class
 * OFPXMC_OPENFLOW_BASIC), widths in bits, and whether OpenFlow allows a mask on them.
 *
 * <p>Values are unsigned and right-aligned in a {@code long}; the 128-bit IPv6 fields carry their
 * upper 64 bits in {@link Masked#valueHi()}. {@code VLAN_VID} uses OpenFlow's 13-bit form: bit
 * 12 ({@link #OFPVID_PRESENT}) set means "a tag is present", the low 12 bits are the VID.
 */
public enum Field {
    IN_PORT(0, 32, false),
    ETH_DST(3, 48, true),
    ETH_SRC(4, 48, true),
    ETH_TYPE(5, 16, false),
    VLAN_VID(6, 13, true),
    VLAN_PCP(7, 3, false),
    IP_PROTO(10, 8, false),
    IPV4_SRC(11, 32, true),
    IPV4_DST(12, 32, true),
    TCP_SRC(13, 16, false),
    TCP_DST(14, 16, false),
    UDP_SRC(15, 16, false),
    UDP_DST(16, 16, false),
    ICMPV4_TYPE(19, 8, false),
    ICMPV4_CODE(20, 8, false),
    ARP_OP(21, 16, false),
    ARP_SPA(22, 32, true),
    ARP_TPA(23, 32, true),
    IPV6_SRC(26, 128, true),
    IPV6_DST(27, 128, true),
    TUNNEL_ID(38, 64, true);

    /** vlan_vid bit meaning "the packet has an 802.1Q tag". */
    public static final int OFPVID_PRESENT = 0x1000;
    /** vlan_vid value meaning "the packet has no tag". */
    public static final int OFPVID_NONE = 0x0000;

    private static final Field[] BY_OXM = new Field[64];

    static {
        for (Field f : values()) {
            BY_OXM[f.oxm] = f;
        }
    }

    /** The OXM field number (OFPXMT_OFB_*). */
    public final int oxm;
    /** Width in bits. */
    public final int bits;
    /** Whether OpenFlow 1.3 allows a mask (OXM_HASMASK). */
    public final boolean maskable;

    Field(int oxm, int bits, boolean maskable) {
        this.oxm = oxm;
        this.bits = bits;
        this.maskable = maskable;
    }

    /** The field with OXM number {@code oxm}, or null when panda does not match on it. */
    public static Field ofOxm(int oxm) {
        return oxm >= 0 && oxm < BY_OXM.length ? BY_OXM[oxm] : null;
    }

    /** All ones in the low {@code min(bits, 64)} bits. */
    public long fullMask() {
        return bits >= 64 ? -1L : (1L << bits) - 1;
    }

    /** All ones in the bits above 64 (only the IPv6 fields have any). */
    public long fullMaskHi() {
        return bits > 64 ? -1L : 0L;
    }

    /** The lower-case name OpenFlow tools print (ovs-ofctl's names where they differ). */
    public String ofName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
