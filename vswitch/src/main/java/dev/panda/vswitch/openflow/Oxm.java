package dev.panda.vswitch.openflow;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * One OXM TLV of the OpenFlow basic class (spec 7.2.3): a field number, its value and, when the
 * field may be masked and the peer sent one, its mask (same length). The bytes are as on the wire.
 */
public record Oxm(int field, byte[] value, byte[] mask) {

    public static final int IN_PORT = 0;
    public static final int IN_PHY_PORT = 1;
    public static final int METADATA = 2;
    public static final int ETH_DST = 3;
    public static final int ETH_SRC = 4;
    public static final int ETH_TYPE = 5;
    public static final int VLAN_VID = 6;
    public static final int VLAN_PCP = 7;
    public static final int IP_DSCP = 8;
    public static final int IP_ECN = 9;
    public static final int IP_PROTO = 10;
    public static final int IPV4_SRC = 11;
    public static final int IPV4_DST = 12;
    public static final int TCP_SRC = 13;
    public static final int TCP_DST = 14;
    public static final int UDP_SRC = 15;
    public static final int UDP_DST = 16;
    public static final int ICMPV4_TYPE = 19;
    public static final int ICMPV4_CODE = 20;
    public static final int ARP_OP = 21;
    public static final int ARP_SPA = 22;
    public static final int ARP_TPA = 23;
    public static final int ARP_SHA = 24;
    public static final int ARP_THA = 25;
    public static final int IPV6_SRC = 26;
    public static final int IPV6_DST = 27;
    public static final int TUNNEL_ID = 38;

    /** Value length of each basic-class field (0: not a field of 1.3), and whether it may be masked. */
    private static final int[] LENGTH = {
        4, 4, 8, 6, 6, 2, 2, 1, 1, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 1, 1, 2, 4, 4, 6, 6, 16, 16, 4, 1, 1, 16, 6, 6, 4, 1,
        1, 3, 8, 2
    };

    private static final long MASKABLE = (1L << METADATA)
            | (1L << ETH_DST)
            | (1L << ETH_SRC)
            | (1L << VLAN_VID)
            | (1L << IPV4_SRC)
            | (1L << IPV4_DST)
            | (1L << ARP_SPA)
            | (1L << ARP_TPA)
            | (1L << ARP_SHA)
            | (1L << ARP_THA)
            | (1L << IPV6_SRC)
            | (1L << IPV6_DST)
            | (1L << 28)
            | (1L << 37)
            | (1L << TUNNEL_ID)
            | (1L << 39);

    public Oxm {
        value = value.clone();
        mask = mask == null ? null : mask.clone();
    }

    public static Oxm exact(int field, long v) {
        int n = length(field);
        byte[] b = new byte[n];
        for (int i = n - 1; i >= 0; i--) {
            b[i] = (byte) v;
            v >>>= 8;
        }
        return new Oxm(field, b, null);
    }

    public static Oxm masked(int field, long v, long m) {
        Oxm a = exact(field, v);
        return new Oxm(field, a.value, exact(field, m).value);
    }

    /** The value's length of a 1.3 basic field, 0 if none. */
    public static int length(int field) {
        return field >= 0 && field < LENGTH.length ? LENGTH[field] : 0;
    }

    public static boolean maskable(int field) {
        return field >= 0 && field < 64 && (MASKABLE & (1L << field)) != 0;
    }

    /** The value as an unsigned number (fields of up to 8 bytes). */
    public long longValue() {
        return toLong(value);
    }

    /** The mask as a number; all ones without a mask. */
    public long longMask() {
        return mask == null ? (value.length >= 8 ? -1L : (1L << (8 * value.length)) - 1) : toLong(mask);
    }

    static long toLong(byte[] b) {
        long v = 0;
        for (byte x : b) {
            v = (v << 8) | (x & 0xff);
        }
        return v;
    }

    /**
     * An {@code ofp_match} (type OXM, its length, the TLVs, padding to 8) from {@code r}: every
     * TLV's class, field, length and mask checked; duplicates and bits set outside a mask refused.
     */
    static List<Oxm> decodeMatch(OfReader r) throws OfError {
        int type = r.u16();
        int length = r.u16();
        if (type != Of.MT_OXM) {
            throw new OfError(Of.ET_BAD_MATCH, Of.BMC_BAD_TYPE, "match type " + type + " is not OXM (1)");
        }
        if (length < 4) {
            throw new OfError(Of.ET_BAD_MATCH, Of.BMC_BAD_LEN, "match length " + length + " < 4");
        }
        OfReader m = r.sub(length - 4, Of.ET_BAD_MATCH, Of.BMC_BAD_LEN, "match");
        r.skip(pad8(length) - length);
        List<Oxm> out = new ArrayList<>();
        long seen = 0;
        while (m.remaining() > 0) {
            Oxm o = decode(m, Of.ET_BAD_MATCH, Of.BMC_BAD_LEN);
            if ((seen & (1L << o.field)) != 0) {
                throw new OfError(Of.ET_BAD_MATCH, Of.BMC_DUP_FIELD, "field " + o.field + " twice");
            }
            seen |= 1L << o.field;
            out.add(o);
        }
        return out;
    }

    /** One TLV; a short one is {@code lenType/lenCode}. */
    static Oxm decode(OfReader r, int lenType, int lenCode) throws OfError {
        int header = r.u32();
        int cls = header >>> 16;
        int field = (header >>> 9) & 0x7f;
        boolean hasMask = (header & 0x100) != 0;
        int len = header & 0xff;
        if (cls != Of.OXM_CLASS_BASIC) {
            throw new OfError(Of.ET_BAD_MATCH, Of.BMC_BAD_FIELD, "OXM class 0x" + Integer.toHexString(cls));
        }
        int n = length(field);
        if (n == 0) {
            throw new OfError(Of.ET_BAD_MATCH, Of.BMC_BAD_FIELD, "OXM field " + field);
        }
        if (len != (hasMask ? 2 * n : n)) {
            throw new OfError(lenType, lenCode, "OXM field " + field + " length " + len);
        }
        if (hasMask && !maskable(field)) {
            throw new OfError(Of.ET_BAD_MATCH, Of.BMC_BAD_MASK, "OXM field " + field + " cannot be masked");
        }
        OfReader v = r.sub(len, lenType, lenCode, "OXM value");
        byte[] value = v.bytes(n);
        byte[] mask = hasMask ? v.bytes(n) : null;
        if (mask != null) {
            for (int i = 0; i < n; i++) {
                if ((value[i] & ~mask[i]) != 0) {
                    throw new OfError(
                            Of.ET_BAD_MATCH, 5 /* BAD_WILDCARDS */, "OXM field " + field + " value outside its mask");
                }
            }
        }
        return new Oxm(field, value, mask);
    }

    static int pad8(int n) {
        return (n + 7) & ~7;
    }

    void encode(ByteBuf out) {
        int len = value.length * (mask == null ? 1 : 2);
        out.writeInt((Of.OXM_CLASS_BASIC << 16) | (field << 9) | (mask == null ? 0 : 0x100) | len);
        out.writeBytes(value);
        if (mask != null) {
            out.writeBytes(mask);
        }
    }

    /** An ofp_match with its padding. */
    static void encodeMatch(List<Oxm> match, ByteBuf out) {
        int start = out.writerIndex();
        out.writeShort(Of.MT_OXM);
        out.writeShort(0);
        for (Oxm o : match) {
            o.encode(out);
        }
        int len = out.writerIndex() - start;
        out.setShort(start + 2, len);
        out.writeZero(pad8(len) - len);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Oxm x && x.field == field && Arrays.equals(x.value, value) && Arrays.equals(x.mask, mask);
    }

    @Override
    public int hashCode() {
        return field * 31 + Arrays.hashCode(value) * 17 + Arrays.hashCode(mask);
    }

    @Override
    public String toString() {
        HexFormat h = HexFormat.of();
        return "oxm" + field + "=" + h.formatHex(value) + (mask == null ? "" : "/" + h.formatHex(mask));
    }
}
