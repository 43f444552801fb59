package dev.panda.vswitch.flow;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Flows as text in ovs-ofctl's dump-flows style (what {@code panda ctl dump-flows} prints). */
public final class FlowFormat {

    private FlowFormat() {}

    public static String mac(long m) {
        return String.format(
                Locale.ROOT,
                "%02x:%02x:%02x:%02x:%02x:%02x",
                (m >>> 40) & 0xff,
                (m >>> 32) & 0xff,
                (m >>> 24) & 0xff,
                (m >>> 16) & 0xff,
                (m >>> 8) & 0xff,
                m & 0xff);
    }

    public static String ipv4(long a) {
        return ((a >>> 24) & 0xff) + "." + ((a >>> 16) & 0xff) + "." + ((a >>> 8) & 0xff) + "." + (a & 0xff);
    }

    private static String ipv4Masked(Masked m) {
        if (m.mask() == 0xffff_ffffL) {
            return ipv4(m.value());
        }
        int bits = Long.bitCount(m.mask());
        long prefix = bits == 0 ? 0 : (0xffff_ffffL << (32 - bits)) & 0xffff_ffffL;
        return ipv4(m.value()) + "/" + (prefix == m.mask() ? Integer.toString(bits) : ipv4(m.mask()));
    }

    public static String ipv6(long hi, long lo) {
        byte[] b = new byte[16];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (hi >>> (56 - 8 * i));
            b[8 + i] = (byte) (lo >>> (56 - 8 * i));
        }
        try {
            return java.net.InetAddress.getByAddress(b).getHostAddress();
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static String ipv6Masked(Masked m) {
        String v = ipv6(m.valueHi(), m.value());
        if (m.maskHi() == -1L && m.mask() == -1L) {
            return v;
        }
        int bits = Long.bitCount(m.maskHi()) + Long.bitCount(m.mask());
        return v + "/" + bits;
    }

    private static String macMasked(Masked m) {
        return m.mask() == 0xffff_ffff_ffffL ? mac(m.value()) : mac(m.value()) + "/" + mac(m.mask());
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** A match as ovs-ofctl prints it, e.g. {@code ip,in_port=1,nw_dst=198.18.0.0/24}; empty for all. */
    public static String match(Match match) {
        List<String> parts = new ArrayList<>();
        Masked type = match.get(Field.ETH_TYPE);
        Masked proto = match.get(Field.IP_PROTO);
        String shorthand = null;
        boolean protoShown = false;
        if (type != null) {
            long t = type.value();
            long p = proto == null ? -1 : proto.value();
            if (t == 0x0800) {
                shorthand = p == 6 ? "tcp" : p == 17 ? "udp" : p == 1 ? "icmp" : "ip";
            } else if (t == 0x86dd) {
                shorthand = p == 6 ? "tcp6" : p == 17 ? "udp6" : p == 58 ? "icmp6" : "ipv6";
            } else if (t == 0x0806) {
                shorthand = "arp";
            }
            protoShown = shorthand != null && !shorthand.startsWith("ip") && !shorthand.equals("arp");
            parts.add(shorthand != null ? shorthand : "dl_type=" + String.format(Locale.ROOT, "0x%04x", t));
        }
        for (Map.Entry<Field, Masked> e : match.fields().entrySet()) {
            Masked m = e.getValue();
            switch (e.getKey()) {
                case IN_PORT -> parts.add("in_port=" + OfPort.name((int) m.value()));
                case ETH_SRC -> parts.add("dl_src=" + macMasked(m));
                case ETH_DST -> parts.add("dl_dst=" + macMasked(m));
                case ETH_TYPE -> {}
                case VLAN_VID -> {
                    if (m.mask() == 0x1fff && (m.value() & Field.OFPVID_PRESENT) != 0) {
                        parts.add("dl_vlan=" + (m.value() & 0xfff));
                    } else {
                        parts.add(String.format(Locale.ROOT, "vlan_tci=0x%04x/0x%04x", m.value(), m.mask()));
                    }
                }
                case VLAN_PCP -> parts.add("dl_vlan_pcp=" + m.value());
                case IP_PROTO -> {
                    if (!protoShown) {
                        parts.add("nw_proto=" + m.value());
                    }
                }
                case IPV4_SRC -> parts.add("nw_src=" + ipv4Masked(m));
                case IPV4_DST -> parts.add("nw_dst=" + ipv4Masked(m));
                case TCP_SRC, UDP_SRC -> parts.add("tp_src=" + m.value());
                case TCP_DST, UDP_DST -> parts.add("tp_dst=" + m.value());
                case ICMPV4_TYPE -> parts.add("icmp_type=" + m.value());
                case ICMPV4_CODE -> parts.add("icmp_code=" + m.value());
                case ARP_OP -> parts.add("arp_op=" + m.value());
                case ARP_SPA -> parts.add("arp_spa=" + ipv4Masked(m));
                case ARP_TPA -> parts.add("arp_tpa=" + ipv4Masked(m));
                case IPV6_SRC -> parts.add("ipv6_src=" + ipv6Masked(m));
                case IPV6_DST -> parts.add("ipv6_dst=" + ipv6Masked(m));
                case TUNNEL_ID -> parts.add("tun_id=" + hex(m.value()) + (m.mask() == -1L ? "" : "/" + hex(m.mask())));
            }
        }
        return String.join(",", parts);
    }

    public static String action(Action a) {
        return switch (a) {
            case Action.Output o -> {
                if (o.port() == OfPort.CONTROLLER) {
                    yield "CONTROLLER:" + o.maxLen();
                }
                yield OfPort.isPhysical(o.port())
                        ? "output:" + Integer.toUnsignedString(o.port())
                        : OfPort.name(o.port());
            }
            case Action.PushVlan p -> "push_vlan:" + String.format(Locale.ROOT, "0x%04x", p.ethertype());
            case Action.PopVlan p -> "pop_vlan";
            case Action.SetField s ->
                switch (s.field()) {
                    case ETH_SRC -> "set_field:" + mac(s.value()) + "->eth_src";
                    case ETH_DST -> "set_field:" + mac(s.value()) + "->eth_dst";
                    case VLAN_VID -> "set_field:" + (s.value() | Field.OFPVID_PRESENT) + "->vlan_vid";
                    default -> "set_field:" + s.value() + "->" + s.field().ofName();
                };
        };
    }

    private static String actions(List<Action> l) {
        List<String> s = new ArrayList<>();
        for (Action a : l) {
            s.add(action(a));
        }
        return String.join(",", s);
    }

    /** Instructions as ovs-ofctl's {@code actions=} value ({@code drop} when nothing happens). */
    public static String instructions(List<Instruction> instructions) {
        List<String> s = new ArrayList<>();
        for (Instruction i : instructions) {
            if (i instanceof Instruction.ApplyActions a && !a.actions().isEmpty()) {
                s.add(actions(a.actions()));
            }
        }
        for (Instruction i : instructions) {
            if (i instanceof Instruction.ClearActions) {
                s.add("clear_actions");
            }
        }
        for (Instruction i : instructions) {
            if (i instanceof Instruction.WriteActions w) {
                s.add("write_actions(" + actions(w.actions()) + ")");
            }
        }
        for (Instruction i : instructions) {
            if (i instanceof Instruction.GotoTable g) {
                s.add("goto_table:" + g.tableId());
            }
        }
        return s.isEmpty() ? "drop" : String.join(",", s);
    }

    /** One line of dump-flows. */
    public static String flow(FlowStats f) {
        StringBuilder b = new StringBuilder();
        b.append(" cookie=").append(hex(f.cookie()));
        b.append(String.format(Locale.ROOT, ", duration=%.3fs", f.durationNanos() / 1e9));
        b.append(", table=").append(f.tableId());
        b.append(", n_packets=").append(f.packets());
        b.append(", n_bytes=").append(f.bytes());
        if (f.idleTimeout() > 0) {
            b.append(", idle_timeout=").append(f.idleTimeout());
        }
        if (f.hardTimeout() > 0) {
            b.append(", hard_timeout=").append(f.hardTimeout());
        }
        if ((f.flags() & FlowMod.SEND_FLOW_REM) != 0) {
            b.append(", send_flow_rem");
        }
        if ((f.flags() & FlowMod.CHECK_OVERLAP) != 0) {
            b.append(", check_overlap");
        }
        b.append(", idle_age=").append(f.idleAgeSeconds());
        String m = match(f.match());
        b.append(", priority=").append(f.priority());
        if (!m.isEmpty()) {
            b.append(',').append(m);
        }
        b.append(" actions=").append(instructions(f.instructions()));
        return b.toString();
    }
}
