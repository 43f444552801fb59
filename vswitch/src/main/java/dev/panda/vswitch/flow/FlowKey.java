package dev.panda.vswitch.flow;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A packet's header fields as the classifier sees them: {@link #WORDS} longs, filled in place by
 * {@link #parse} (one instance per data-path thread, nothing allocated per packet).
 *
 * <p>Layout (bit positions within each word):
 *
 * <pre>
 * w0  eth_src &lt;&lt; 16 | eth_type
 * w1  eth_dst &lt;&lt; 16 | vlan_pcp &lt;&lt; 13 | OFPVID_PRESENT | vid   (0 when untagged)
 * w2  in_port &lt;&lt; 32 | ip_proto &lt;&lt; 16 | arp_op
 * w3  ipv4_src or arp_spa &lt;&lt; 32 | ipv4_dst or arp_tpa
 * w4  tcp/udp src or icmp type &lt;&lt; 16 | tcp/udp dst or icmp code
 * w5  tun_id
 * w6  ipv6_src upper 64 | w7 lower 64 | w8 ipv6_dst upper | w9 lower
 * </pre>
 *
 * Fields that share a slot (tcp_src/udp_src/icmpv4_type, ipv4_src/arp_spa) are told apart by
 * their prerequisites, which every match must name.
 */
public final class FlowKey {

    public static final int WORDS = 10;

    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong BE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    final long[] w = new long[WORDS];

    /** Where {@code f} sits: word index and shift (128-bit fields: the upper word, lower next). */
    static int word(Field f) {
        return switch (f) {
            case ETH_SRC, ETH_TYPE -> 0;
            case ETH_DST, VLAN_VID, VLAN_PCP -> 1;
            case IN_PORT, IP_PROTO, ARP_OP -> 2;
            case IPV4_SRC, IPV4_DST, ARP_SPA, ARP_TPA -> 3;
            case TCP_SRC, TCP_DST, UDP_SRC, UDP_DST, ICMPV4_TYPE, ICMPV4_CODE -> 4;
            case TUNNEL_ID -> 5;
            case IPV6_SRC -> 6;
            case IPV6_DST -> 8;
        };
    }

    static int shift(Field f) {
        return switch (f) {
            case ETH_SRC, ETH_DST -> 16;
            case VLAN_PCP -> 13;
            case IN_PORT, IPV4_SRC, ARP_SPA -> 32;
            case IP_PROTO, TCP_SRC, UDP_SRC, ICMPV4_TYPE -> 16;
            default -> 0;
        };
    }

    /**
     * Fills the key from the frame at {@code seg[off..off+len)} received on {@code inPort} (tunnel
     * id {@code tunId}). A frame too short for a header leaves that header's fields 0.
     */
    public void parse(MemorySegment seg, long off, int len, int inPort, long tunId) {
        long[] k = w;
        for (int i = 0; i < WORDS; i++) {
            k[i] = 0;
        }
        k[2] = Integer.toUnsignedLong(inPort) << 32;
        k[5] = tunId;
        if (len < 14) {
            return;
        }
        long dst = (Integer.toUnsignedLong(seg.get(BE32, off)) << 16) | Short.toUnsignedInt(seg.get(BE16, off + 4));
        long src =
                (Integer.toUnsignedLong(seg.get(BE32, off + 6)) << 16) | Short.toUnsignedInt(seg.get(BE16, off + 10));
        int type = Short.toUnsignedInt(seg.get(BE16, off + 12));
        int l3 = 14;
        long tci = 0;
        if ((type == 0x8100 || type == 0x88a8) && len >= 18) {
            int t = Short.toUnsignedInt(seg.get(BE16, off + 14));
            tci = ((long) (t >>> 13) << 13) | Field.OFPVID_PRESENT | (t & 0xfff);
            type = Short.toUnsignedInt(seg.get(BE16, off + 16));
            l3 = 18;
        }
        k[0] = (src << 16) | type;
        k[1] = (dst << 16) | tci;
        int rest = len - l3;
        long p = off + l3;
        if (type == 0x0800) {
            if (rest < 20) {
                return;
            }
            int ihl = (seg.get(ValueLayout.JAVA_BYTE, p) & 0x0f) * 4;
            int proto = seg.get(ValueLayout.JAVA_BYTE, p + 9) & 0xff;
            k[2] |= (long) proto << 16;
            k[3] = Integer.toUnsignedLong(seg.get(BE32, p + 12)) << 32 | Integer.toUnsignedLong(seg.get(BE32, p + 16));
            boolean later = (seg.get(BE16, p + 6) & 0x1fff) != 0; // not the first fragment
            if (ihl >= 20 && !later) {
                l4(seg, p + ihl, rest - ihl, proto);
            }
        } else if (type == 0x86dd) {
            if (rest < 40) {
                return;
            }
            int proto = seg.get(ValueLayout.JAVA_BYTE, p + 6) & 0xff;
            k[2] |= (long) proto << 16;
            k[6] = seg.get(BE64, p + 8);
            k[7] = seg.get(BE64, p + 16);
            k[8] = seg.get(BE64, p + 24);
            k[9] = seg.get(BE64, p + 32);
            if (proto != 1) { // ICMPv4 type/code are not matched in IPv6 packets
                l4(seg, p + 40, rest - 40, proto);
            }
        } else if (type == 0x0806) {
            if (rest < 28) {
                return;
            }
            k[2] |= Short.toUnsignedInt(seg.get(BE16, p + 6));
            k[3] = Integer.toUnsignedLong(seg.get(BE32, p + 14)) << 32 | Integer.toUnsignedLong(seg.get(BE32, p + 24));
        }
    }

    private void l4(MemorySegment seg, long p, int rest, int proto) {
        if ((proto == 6 || proto == 17) && rest >= 4) {
            w[4] = Integer.toUnsignedLong(seg.get(BE32, p));
        } else if (proto == 1 && rest >= 2) {
            w[4] = (long) (seg.get(ValueLayout.JAVA_BYTE, p) & 0xff) << 16
                    | (seg.get(ValueLayout.JAVA_BYTE, p + 1) & 0xff);
        }
    }

    /** Sets one field (for tests and benchmarks; a packet's key comes from {@link #parse}). */
    public FlowKey set(Field f, long value) {
        int i = word(f);
        if (f.bits == 128) {
            throw new IllegalArgumentException("use set128 for " + f);
        }
        long m = f.fullMask() << shift(f);
        w[i] = (w[i] & ~m) | ((value << shift(f)) & m);
        return this;
    }

    public FlowKey set128(Field f, long hi, long lo) {
        int i = word(f);
        w[i] = hi;
        w[i + 1] = lo;
        return this;
    }

    /** The value of {@code f} in this key (the lower 64 bits for IPv6 fields). */
    public long get(Field f) {
        int i = word(f);
        if (f.bits == 128) {
            return w[i + 1];
        }
        return (w[i] >>> shift(f)) & f.fullMask();
    }

    public void clear() {
        java.util.Arrays.fill(w, 0);
    }

    public void copyFrom(FlowKey o) {
        System.arraycopy(o.w, 0, w, 0, WORDS);
    }

    /** The word i (for the classifier). */
    public long word(int i) {
        return w[i];
    }
}
