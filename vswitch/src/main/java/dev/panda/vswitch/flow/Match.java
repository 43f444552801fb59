package dev.panda.vswitch.flow;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * An OpenFlow 1.3 match: for each {@link Field} either absent (wildcarded) or a {@link Masked}
 * value. Immutable; build one with {@link #builder()} or {@link #with}. Values and masks are kept
 * trimmed to the field's width; value bits outside the mask are kept as given so that
 * {@link #validate()} can refuse them (OFPBMC_BAD_WILDCARDS), as OpenFlow asks.
 *
 * <p>{@code vlan_vid} follows OpenFlow's OFPVID_PRESENT semantics: {@code exact(0)} (OFPVID_NONE)
 * matches untagged packets only; {@code of(0x1000, 0x1000)} any tagged packet;
 * {@code exact(0x1000 | vid)} packets tagged with that VID.
 */
public final class Match {

    public static final Match ANY = new Match(new EnumMap<>(Field.class));

    private final EnumMap<Field, Masked> fields;

    private Match(EnumMap<Field, Masked> fields) {
        this.fields = fields;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The fields present, in {@link Field} order (unmodifiable). */
    public Map<Field, Masked> fields() {
        return Collections.unmodifiableMap(fields);
    }

    public Masked get(Field f) {
        return fields.get(f);
    }

    public boolean has(Field f) {
        return fields.containsKey(f);
    }

    public boolean isEmpty() {
        return fields.isEmpty();
    }

    /** This match with {@code f} set to {@code v} (null removes it). */
    public Match with(Field f, Masked v) {
        EnumMap<Field, Masked> m = fields.isEmpty() ? new EnumMap<>(Field.class) : new EnumMap<>(fields);
        if (v == null) {
            m.remove(f);
        } else {
            m.put(f, v.trimmed(f));
        }
        return new Match(m);
    }

    /** The value of an exact field, or -1 if absent or masked. */
    private long exact(Field f) {
        Masked m = fields.get(f);
        return m != null && m.isExact(f) ? m.value() : -1;
    }

    /**
     * Checks OpenFlow 1.3's rules: values within range, masks only where allowed, no value bit set
     * under a 0 mask bit, and every field's prerequisite matched exactly (ip fields need eth_type
     * 0x0800/0x86dd, tcp/udp/icmp need ip_proto, arp needs eth_type 0x0806, vlan_pcp needs a VLAN
     * tag). Empty when the match is valid.
     */
    public Optional<MatchError> validate() {
        for (Map.Entry<Field, Masked> e : fields.entrySet()) {
            Field f = e.getKey();
            Masked m = e.getValue();
            if (!f.maskable && !m.isExact(f)) {
                return Optional.of(MatchError.BAD_MASK);
            }
            if ((m.value() & ~f.fullMask()) != 0 || (m.valueHi() & ~f.fullMaskHi()) != 0) {
                return Optional.of(MatchError.BAD_VALUE);
            }
            if ((m.value() & ~m.mask()) != 0 || (m.valueHi() & ~m.maskHi()) != 0) {
                return Optional.of(MatchError.BAD_WILDCARDS);
            }
        }
        if (has(Field.IN_PORT)) {
            int p = (int) get(Field.IN_PORT).value();
            if (!OfPort.isPhysical(p) && p != OfPort.LOCAL && p != OfPort.CONTROLLER) {
                return Optional.of(MatchError.BAD_VALUE);
            }
        }
        if (has(Field.VLAN_VID)) {
            Masked v = get(Field.VLAN_VID);
            // a VID with the PRESENT bit clear is meaningless except OFPVID_NONE itself
            if (v.isExact(Field.VLAN_VID) && (v.value() & Field.OFPVID_PRESENT) == 0 && v.value() != 0) {
                return Optional.of(MatchError.BAD_VALUE);
            }
        }
        if (has(Field.VLAN_PCP)) {
            Masked v = get(Field.VLAN_PCP);
            Masked vid = get(Field.VLAN_VID);
            // prerequisite VLAN_VID != NONE: the PRESENT bit must be matched as set
            if (vid == null || (vid.mask() & vid.value() & Field.OFPVID_PRESENT) == 0) {
                return Optional.of(MatchError.BAD_PREREQ);
            }
            if (v.value() > 7) {
                return Optional.of(MatchError.BAD_VALUE);
            }
        }
        long ethType = exact(Field.ETH_TYPE);
        boolean ip4 = ethType == 0x0800;
        boolean ip6 = ethType == 0x86dd;
        if ((has(Field.IPV4_SRC) || has(Field.IPV4_DST)) && !ip4) {
            return Optional.of(MatchError.BAD_PREREQ);
        }
        if ((has(Field.IPV6_SRC) || has(Field.IPV6_DST)) && !ip6) {
            return Optional.of(MatchError.BAD_PREREQ);
        }
        if ((has(Field.ARP_OP) || has(Field.ARP_SPA) || has(Field.ARP_TPA)) && ethType != 0x0806) {
            return Optional.of(MatchError.BAD_PREREQ);
        }
        if (has(Field.IP_PROTO) && !ip4 && !ip6) {
            return Optional.of(MatchError.BAD_PREREQ);
        }
        long proto = (ip4 || ip6) ? exact(Field.IP_PROTO) : -1;
        if ((has(Field.TCP_SRC) || has(Field.TCP_DST)) && proto != 6) {
            return Optional.of(MatchError.BAD_PREREQ);
        }
        if ((has(Field.UDP_SRC) || has(Field.UDP_DST)) && proto != 17) {
            return Optional.of(MatchError.BAD_PREREQ);
        }
        if ((has(Field.ICMPV4_TYPE) || has(Field.ICMPV4_CODE)) && (proto != 1 || !ip4)) {
            return Optional.of(MatchError.BAD_PREREQ);
        }
        return Optional.empty();
    }

    /**
     * True if every packet this match accepts is also accepted by {@code general} (OpenFlow's
     * non-strict comparison): each field {@code general} names is named here with a mask at least
     * as wide and the same value under {@code general}'s mask.
     */
    public boolean isSubsetOf(Match general) {
        for (Map.Entry<Field, Masked> e : general.fields.entrySet()) {
            Masked g = e.getValue();
            Masked s = fields.get(e.getKey());
            if (s == null) {
                if (g.mask() != 0 || g.maskHi() != 0) {
                    return false;
                }
                continue;
            }
            if ((g.mask() & ~s.mask()) != 0 || (g.maskHi() & ~s.maskHi()) != 0) {
                return false;
            }
            if (((s.value() ^ g.value()) & g.mask()) != 0 || ((s.valueHi() ^ g.valueHi()) & g.maskHi()) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * True if some packet could match both (OpenFlow's overlap check): no field both name has
     * values that differ under both masks.
     */
    public boolean overlaps(Match other) {
        for (Map.Entry<Field, Masked> e : fields.entrySet()) {
            Masked o = other.fields.get(e.getKey());
            if (o == null) {
                continue;
            }
            Masked m = e.getValue();
            long common = m.mask() & o.mask();
            long commonHi = m.maskHi() & o.maskHi();
            if (((m.value() ^ o.value()) & common) != 0 || ((m.valueHi() ^ o.valueHi()) & commonHi) != 0) {
                return false;
            }
        }
        return true;
    }

    /** Fields with an all-zero mask dropped and values cut to their mask: equal matches compare equal. */
    public Match normalized() {
        EnumMap<Field, Masked> m = new EnumMap<>(Field.class);
        for (Map.Entry<Field, Masked> e : fields.entrySet()) {
            Masked v = e.getValue();
            if (v.mask() == 0 && v.maskHi() == 0) {
                continue;
            }
            m.put(e.getKey(), new Masked(v.value() & v.mask(), v.mask(), v.valueHi() & v.maskHi(), v.maskHi()));
        }
        return new Match(m);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Match m && fields.equals(m.fields);
    }

    @Override
    public int hashCode() {
        return fields.hashCode();
    }

    /** ovs-ofctl's form, e.g. {@code in_port=1,dl_type=0x0800,nw_dst=198.18.0.0/24}. */
    @Override
    public String toString() {
        return FlowFormat.match(this);
    }

    /** Builds a {@link Match}; every setter names one field. */
    public static final class Builder {
        private final EnumMap<Field, Masked> m = new EnumMap<>(Field.class);

        public Builder set(Field f, Masked v) {
            m.put(f, v.trimmed(f));
            return this;
        }

        public Builder exact(Field f, long v) {
            return set(f, Masked.exact(v));
        }

        public Builder masked(Field f, long v, long mask) {
            return set(f, Masked.of(v, mask));
        }

        public Builder inPort(int port) {
            return exact(Field.IN_PORT, Integer.toUnsignedLong(port));
        }

        public Builder ethSrc(long mac) {
            return exact(Field.ETH_SRC, mac);
        }

        public Builder ethSrc(long mac, long mask) {
            return masked(Field.ETH_SRC, mac, mask);
        }

        public Builder ethDst(long mac) {
            return exact(Field.ETH_DST, mac);
        }

        public Builder ethDst(long mac, long mask) {
            return masked(Field.ETH_DST, mac, mask);
        }

        public Builder ethType(int type) {
            return exact(Field.ETH_TYPE, type);
        }

        /** Untagged packets only (OFPVID_NONE). */
        public Builder vlanNone() {
            return exact(Field.VLAN_VID, Field.OFPVID_NONE);
        }

        /** Any tagged packet. */
        public Builder vlanAny() {
            return masked(Field.VLAN_VID, Field.OFPVID_PRESENT, Field.OFPVID_PRESENT);
        }

        /** Packets tagged with {@code vid} (0..4095). */
        public Builder vlanVid(int vid) {
            return exact(Field.VLAN_VID, Field.OFPVID_PRESENT | vid);
        }

        public Builder vlanPcp(int pcp) {
            return exact(Field.VLAN_PCP, pcp);
        }

        public Builder ipProto(int proto) {
            return exact(Field.IP_PROTO, proto);
        }

        public Builder ipv4Src(int addr, int mask) {
            return masked(Field.IPV4_SRC, Integer.toUnsignedLong(addr), Integer.toUnsignedLong(mask));
        }

        public Builder ipv4Dst(int addr, int mask) {
            return masked(Field.IPV4_DST, Integer.toUnsignedLong(addr), Integer.toUnsignedLong(mask));
        }

        public Builder ipv6Src(long hi, long lo, long maskHi, long maskLo) {
            return set(Field.IPV6_SRC, Masked.of128(hi, lo, maskHi, maskLo));
        }

        public Builder ipv6Dst(long hi, long lo, long maskHi, long maskLo) {
            return set(Field.IPV6_DST, Masked.of128(hi, lo, maskHi, maskLo));
        }

        public Builder tcpSrc(int port) {
            return exact(Field.TCP_SRC, port);
        }

        public Builder tcpDst(int port) {
            return exact(Field.TCP_DST, port);
        }

        public Builder udpSrc(int port) {
            return exact(Field.UDP_SRC, port);
        }

        public Builder udpDst(int port) {
            return exact(Field.UDP_DST, port);
        }

        public Builder icmpv4Type(int type) {
            return exact(Field.ICMPV4_TYPE, type);
        }

        public Builder icmpv4Code(int code) {
            return exact(Field.ICMPV4_CODE, code);
        }

        public Builder arpOp(int op) {
            return exact(Field.ARP_OP, op);
        }

        public Builder arpSpa(int addr, int mask) {
            return masked(Field.ARP_SPA, Integer.toUnsignedLong(addr), Integer.toUnsignedLong(mask));
        }

        public Builder arpTpa(int addr, int mask) {
            return masked(Field.ARP_TPA, Integer.toUnsignedLong(addr), Integer.toUnsignedLong(mask));
        }

        public Builder tunId(long id) {
            return exact(Field.TUNNEL_ID, id);
        }

        public Builder tunId(long id, long mask) {
            return masked(Field.TUNNEL_ID, id, mask);
        }

        public Match build() {
            return m.isEmpty() ? ANY : new Match(new EnumMap<>(m));
        }
    }
}
