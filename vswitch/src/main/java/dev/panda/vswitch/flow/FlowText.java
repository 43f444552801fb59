package dev.panda.vswitch.flow;

import java.net.Inet6Address;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Flows written as ovs-ofctl writes them, for {@code panda ctl add-flow} and the flow API:
 * {@code table=0,priority=100,ip,in_port=1,nw_dst=198.18.0.0/24,actions=output:2}. Field names are
 * OpenFlow's ({@code eth_src}, {@code ipv4_dst}, ...) or ovs-ofctl's ({@code dl_src},
 * {@code nw_dst}, ...). Every refusal is an IllegalArgumentException naming the part.
 */
public final class FlowText {

    /** Longest flow text accepted. */
    public static final int MAX_LENGTH = 8192;

    private FlowText() {}

    /** Parses {@code text} into a flow mod of {@code command} (priority default 32768, table 0). */
    public static FlowMod parse(String text, FlowMod.Command command) {
        if (text == null) {
            throw new IllegalArgumentException("no flow given");
        }
        if (text.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("a flow is at most " + MAX_LENGTH + " characters");
        }
        String s = text.strip();
        String actions = null;
        int ai = indexOfActions(s);
        if (ai >= 0) {
            actions = s.substring(ai + "actions=".length());
            s = s.substring(0, ai);
        }
        int table = 0;
        int priority = FlowMod.DEFAULT_PRIORITY;
        long cookie = 0, cookieMask = 0;
        int idle = 0, hard = 0, flags = 0;
        int outPort = OfPort.ANY;
        Match.Builder mb = Match.builder();
        MatchAssembler ma = new MatchAssembler(mb);
        for (String part : s.split("[,\\s]+")) {
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            String k = (eq < 0 ? part : part.substring(0, eq)).toLowerCase(Locale.ROOT);
            String v = eq < 0 ? null : part.substring(eq + 1);
            switch (k) {
                case "table" -> table = (int) number(k, need(k, v), 0, 255);
                case "priority" -> priority = (int) number(k, need(k, v), 0, 0xffff);
                case "idle_timeout" -> idle = (int) number(k, need(k, v), 0, 0xffff);
                case "hard_timeout" -> hard = (int) number(k, need(k, v), 0, 0xffff);
                case "send_flow_rem" -> flags |= FlowMod.SEND_FLOW_REM;
                case "check_overlap" -> flags |= FlowMod.CHECK_OVERLAP;
                case "reset_counts" -> flags |= FlowMod.RESET_COUNTS;
                case "out_port" -> outPort = port(need(k, v));
                case "cookie" -> {
                    String c = need(k, v);
                    int slash = c.indexOf('/');
                    cookie = unsigned(k, slash < 0 ? c : c.substring(0, slash));
                    cookieMask = slash < 0
                            ? (command == FlowMod.Command.ADD ? 0 : -1L)
                            : unsigned(k, c.substring(slash + 1));
                }
                default -> ma.add(k, v);
            }
        }
        ma.finish();
        List<Instruction> ins = actions == null ? List.of() : instructions(actions);
        if (actions == null
                && (command == FlowMod.Command.ADD
                        || command == FlowMod.Command.MODIFY
                        || command == FlowMod.Command.MODIFY_STRICT)) {
            throw new IllegalArgumentException("an added or modified flow needs actions= (actions=drop to drop)");
        }
        return new FlowMod(
                command,
                command == FlowMod.Command.DELETE || command == FlowMod.Command.DELETE_STRICT
                        ? (s.contains("table=") ? table : FlowMod.ALL_TABLES)
                        : table,
                priority,
                mb.build(),
                ins,
                cookie,
                cookieMask,
                idle,
                hard,
                flags,
                outPort,
                OfPort.GROUP_ANY);
    }

    private static int indexOfActions(String s) {
        String l = s.toLowerCase(Locale.ROOT);
        int i = l.indexOf("actions=");
        while (i > 0 && Character.isLetterOrDigit(l.charAt(i - 1)) || i > 0 && l.charAt(i - 1) == '_') {
            i = l.indexOf("actions=", i + 1);
        }
        return i;
    }

    private static String need(String k, String v) {
        if (v == null || v.isEmpty()) {
            throw new IllegalArgumentException(k + " needs a value (" + k + "=...)");
        }
        return v;
    }

    /** Collects match fields, resolving ovs-ofctl names that depend on the protocol (tp_src). */
    static final class MatchAssembler {
        private final Match.Builder mb;
        private Integer ethType;
        private Integer proto;
        private final List<String[]> late = new ArrayList<>();

        MatchAssembler(Match.Builder mb) {
            this.mb = mb;
        }

        void add(String k, String v) {
            switch (k) {
                case "ip" -> shorthand(0x0800, null);
                case "ipv6" -> shorthand(0x86dd, null);
                case "arp" -> shorthand(0x0806, null);
                case "tcp" -> shorthand(0x0800, 6);
                case "udp" -> shorthand(0x0800, 17);
                case "icmp" -> shorthand(0x0800, 1);
                case "tcp6" -> shorthand(0x86dd, 6);
                case "udp6" -> shorthand(0x86dd, 17);
                case "tp_src", "tp_dst", "nw_src", "nw_dst" -> late.add(new String[] {k, need(k, v)});
                default -> {
                    Field f = field(k);
                    if (f == null) {
                        throw new IllegalArgumentException("unknown field or keyword '" + k + "'");
                    }
                    String val = need(k, v);
                    if (k.equals("dl_vlan")) {
                        mb.set(f, dlVlan(val));
                    } else if (k.equals("vlan_tci")) {
                        mb.set(f, vlanTci(val));
                    } else {
                        mb.set(f, value(f, val, k));
                    }
                    if (f == Field.ETH_TYPE) {
                        ethType = (int) mb.build().get(Field.ETH_TYPE).value();
                    } else if (f == Field.IP_PROTO) {
                        proto = (int) mb.build().get(Field.IP_PROTO).value();
                    }
                }
            }
        }

        private void shorthand(int type, Integer p) {
            ethType = type;
            mb.ethType(type);
            if (p != null) {
                proto = p;
                mb.ipProto(p);
            }
        }

        void finish() {
            for (String[] kv : late) {
                Field f = switch (kv[0]) {
                    case "tp_src" -> proto != null && proto == 17 ? Field.UDP_SRC : Field.TCP_SRC;
                    case "tp_dst" -> proto != null && proto == 17 ? Field.UDP_DST : Field.TCP_DST;
                    case "nw_src" -> ethType != null && ethType == 0x0806 ? Field.ARP_SPA : Field.IPV4_SRC;
                    default -> ethType != null && ethType == 0x0806 ? Field.ARP_TPA : Field.IPV4_DST;
                };
                mb.set(f, value(f, kv[1], kv[0]));
            }
        }
    }

    /** The field an OpenFlow or ovs-ofctl match name stands for, or null. */
    public static Field field(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "in_port" -> Field.IN_PORT;
            case "eth_src", "dl_src" -> Field.ETH_SRC;
            case "eth_dst", "dl_dst" -> Field.ETH_DST;
            case "eth_type", "dl_type" -> Field.ETH_TYPE;
            case "vlan_vid", "dl_vlan", "vlan_tci" -> Field.VLAN_VID;
            case "vlan_pcp", "dl_vlan_pcp" -> Field.VLAN_PCP;
            case "ip_proto", "nw_proto" -> Field.IP_PROTO;
            case "ipv4_src" -> Field.IPV4_SRC;
            case "ipv4_dst" -> Field.IPV4_DST;
            case "ipv6_src" -> Field.IPV6_SRC;
            case "ipv6_dst" -> Field.IPV6_DST;
            case "tcp_src" -> Field.TCP_SRC;
            case "tcp_dst" -> Field.TCP_DST;
            case "udp_src" -> Field.UDP_SRC;
            case "udp_dst" -> Field.UDP_DST;
            case "icmpv4_type", "icmp_type" -> Field.ICMPV4_TYPE;
            case "icmpv4_code", "icmp_code" -> Field.ICMPV4_CODE;
            case "arp_op" -> Field.ARP_OP;
            case "arp_spa" -> Field.ARP_SPA;
            case "arp_tpa" -> Field.ARP_TPA;
            case "tun_id", "tunnel_id" -> Field.TUNNEL_ID;
            default -> null;
        };
    }

    private static Masked dlVlan(String v) {
        if (v.equalsIgnoreCase("0xffff")) {
            return Masked.exact(Field.OFPVID_NONE);
        }
        return Masked.exact(Field.OFPVID_PRESENT | number("dl_vlan", v, 0, 4095));
    }

    private static Masked vlanTci(String v) {
        int slash = v.indexOf('/');
        long val = unsigned("vlan_tci", slash < 0 ? v : v.substring(0, slash));
        long mask = slash < 0 ? 0xffff : unsigned("vlan_tci", v.substring(slash + 1));
        if ((mask & 0xe000) != 0 && (mask & 0xe000) != 0) {
            throw new IllegalArgumentException("vlan_tci: panda matches the PCP with vlan_pcp; mask it out (0x1fff)");
        }
        return Masked.of(val & 0x1fff, mask & 0x1fff);
    }

    /**
     * A field's value as text: a number (decimal or 0x hex), a MAC, an IPv4 or IPv6 address, each
     * with an optional {@code /mask} (a prefix length for addresses); a port name for in_port;
     * {@code none}, {@code any} or a VID for vlan_vid. Value bits outside the mask are cleared.
     */
    public static Masked value(Field f, String v) {
        return value(f, v, f.ofName());
    }

    /** As {@link #value(Field, String)}, refusals naming the field {@code name} (as the user wrote it). */
    public static Masked value(Field f, String v, String name) {
        Masked m = rawValue(f, v, name);
        // as ovs-ofctl: value bits outside the mask are dropped (the wire form refuses them)
        return new Masked(m.value() & m.mask(), m.mask(), m.valueHi() & m.maskHi(), m.maskHi());
    }

    private static Masked rawValue(Field f, String v, String name) {
        int slash = v.indexOf('/');
        String val = slash < 0 ? v : v.substring(0, slash);
        String mask = slash < 0 ? null : v.substring(slash + 1);
        switch (f) {
            case IN_PORT -> {
                if (mask != null) {
                    throw new IllegalArgumentException("in_port takes no mask");
                }
                return Masked.exact(Integer.toUnsignedLong(port(val)));
            }
            case ETH_SRC, ETH_DST -> {
                return Masked.of(mac(name, val), mask == null ? 0xffff_ffff_ffffL : mac(name, mask));
            }
            case IPV4_SRC, IPV4_DST, ARP_SPA, ARP_TPA -> {
                long a = ipv4(name, val);
                long m = mask == null
                        ? 0xffff_ffffL
                        : mask.contains(".") ? ipv4(name, mask) : prefix32((int) number(name, mask, 0, 32));
                return Masked.of(a, m);
            }
            case IPV6_SRC, IPV6_DST -> {
                long[] a = ipv6(name, val);
                int bits = mask == null ? 128 : (int) number(name, mask, 0, 128);
                long mh = bits == 0 ? 0 : bits >= 64 ? -1L : -1L << (64 - bits);
                long ml = bits <= 64 ? 0 : bits == 128 ? -1L : -1L << (128 - bits);
                return Masked.of128(a[0], a[1], mh, ml);
            }
            case VLAN_VID -> {
                if (mask == null && val.equalsIgnoreCase("none")) {
                    return Masked.exact(Field.OFPVID_NONE);
                }
                if (mask == null && (val.equalsIgnoreCase("any") || val.equalsIgnoreCase("present"))) {
                    return Masked.of(Field.OFPVID_PRESENT, Field.OFPVID_PRESENT);
                }
                if (mask == null && !val.toLowerCase(Locale.ROOT).startsWith("0x")) {
                    return Masked.exact(Field.OFPVID_PRESENT | number(name, val, 0, 4095));
                }
                return Masked.of(unsigned(name, val), mask == null ? -1L : unsigned(name, mask));
            }
            default -> {
                long x = unsigned(name, val);
                long m = mask == null ? -1L : unsigned(name, mask);
                return Masked.of(x, m);
            }
        }
    }

    static long prefix32(int bits) {
        return bits == 0 ? 0 : (0xffff_ffffL << (32 - bits)) & 0xffff_ffffL;
    }

    /** An unsigned number, decimal or 0x hex, up to 64 bits. */
    static long unsigned(String what, String v) {
        try {
            String t = v.strip();
            if (t.startsWith("0x") || t.startsWith("0X")) {
                if (t.length() > 18 || t.length() < 3) {
                    throw new NumberFormatException();
                }
                return Long.parseUnsignedLong(t.substring(2), 16);
            }
            return Long.parseUnsignedLong(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ": '" + shorten(v) + "' is not a number");
        }
    }

    static long number(String what, String v, long min, long max) {
        long n = unsigned(what, v);
        if (n < min || n > max) {
            throw new IllegalArgumentException(what + ": " + shorten(v) + " is not " + min + ".." + max);
        }
        return n;
    }

    static String shorten(String v) {
        return v.length() > 40 ? v.substring(0, 40) + "..." : v;
    }

    /** A port number or a reserved port's name (IN_PORT, CONTROLLER, ...). */
    public static int port(String v) {
        try {
            return OfPort.parse(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + shorten(v) + "' is not a port number or name");
        }
    }

    public static long mac(String what, String v) {
        String[] p = v.split(":", -1);
        if (p.length != 6) {
            throw new IllegalArgumentException(what + ": '" + shorten(v) + "' is not a MAC (aa:bb:cc:dd:ee:ff)");
        }
        long m = 0;
        for (String b : p) {
            if (b.isEmpty() || b.length() > 2 || !b.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                throw new IllegalArgumentException(what + ": '" + shorten(v) + "' is not a MAC (aa:bb:cc:dd:ee:ff)");
            }
            m = m << 8 | Integer.parseInt(b, 16);
        }
        return m;
    }

    public static long ipv4(String what, String v) {
        String[] p = v.split("\\.", -1);
        if (p.length != 4) {
            throw new IllegalArgumentException(what + ": '" + shorten(v) + "' is not an IPv4 address");
        }
        long a = 0;
        for (String b : p) {
            if (b.isEmpty() || b.length() > 3 || !b.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException(what + ": '" + shorten(v) + "' is not an IPv4 address");
            }
            int x = Integer.parseInt(b);
            if (x > 255) {
                throw new IllegalArgumentException(what + ": '" + shorten(v) + "' is not an IPv4 address");
            }
            a = a << 8 | x;
        }
        return a;
    }

    /** An IPv6 literal (never a host name: nothing is looked up) as {upper, lower}. */
    public static long[] ipv6(String what, String v) {
        if (v.length() > 45
                || !v.contains(":")
                || !v.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == ':' || c == '.')) {
            throw new IllegalArgumentException(what + ": '" + shorten(v) + "' is not an IPv6 address");
        }
        byte[] b;
        try {
            b = Inet6Address.ofLiteral(v).getAddress();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": '" + shorten(v) + "' is not an IPv6 address");
        }
        if (b.length != 16) { // an IPv4-mapped literal comes back as IPv4
            throw new IllegalArgumentException(what + ": '" + shorten(v) + "' is not an IPv6 address");
        }
        long hi = 0, lo = 0;
        for (int i = 0; i < 8; i++) {
            hi = hi << 8 | (b[i] & 0xff);
            lo = lo << 8 | (b[8 + i] & 0xff);
        }
        return new long[] {hi, lo};
    }

    /** Splits at commas outside parentheses. */
    static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        int depth = 0, start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(') {
                depth++;
            } else if (c == ')') {
                depth--;
                if (depth < 0) {
                    throw new IllegalArgumentException("unbalanced ')' in actions");
                }
            } else if (c == ',' && depth == 0) {
                out.add(s.substring(start, i).strip());
                start = i + 1;
            }
        }
        if (depth != 0) {
            throw new IllegalArgumentException("unbalanced '(' in actions");
        }
        out.add(s.substring(start).strip());
        out.removeIf(String::isEmpty);
        return out;
    }

    /**
     * Instructions from ovs-ofctl's actions text: plain actions are apply-actions, and
     * {@code write_actions(...)}, {@code clear_actions}, {@code goto_table:N} as named;
     * {@code drop} (or nothing) is no instruction.
     */
    public static List<Instruction> instructions(String text) {
        List<Action> apply = new ArrayList<>();
        List<Instruction> out = new ArrayList<>();
        boolean applied = false;
        for (String item : split(text.strip())) {
            String l = item.toLowerCase(Locale.ROOT);
            if (l.equals("drop")) {
                continue;
            } else if (l.equals("clear_actions")) {
                out.add(new Instruction.ClearActions());
            } else if (l.startsWith("goto_table:")) {
                out.add(new Instruction.GotoTable((int) number("goto_table", item.substring(11), 0, 255)));
            } else if (l.startsWith("write_actions(") && l.endsWith(")")) {
                out.add(new Instruction.WriteActions(actions(item.substring(14, item.length() - 1))));
            } else {
                apply.add(action(item));
                applied = true;
            }
        }
        if (applied) {
            out.addFirst(new Instruction.ApplyActions(apply));
        }
        return out;
    }

    /** Actions (no instructions) from ovs-ofctl's text, e.g. {@code output:2,pop_vlan}. */
    public static List<Action> actions(String text) {
        List<Action> out = new ArrayList<>();
        for (String item : split(text.strip())) {
            if (!item.equalsIgnoreCase("drop")) {
                out.add(action(item));
            }
        }
        return out;
    }

    /** One action in ovs-ofctl's words. */
    public static Action action(String item) {
        String l = item.toLowerCase(Locale.ROOT);
        int colon = l.indexOf(':');
        String verb = colon < 0 ? l : l.substring(0, colon);
        String arg = colon < 0 ? null : item.substring(colon + 1);
        return switch (verb) {
            case "output" -> new Action.Output(port(need("output", arg)));
            case "in_port", "flood", "all", "normal", "local", "table" -> {
                if (arg != null) {
                    throw new IllegalArgumentException(verb + " takes no argument");
                }
                yield new Action.Output(OfPort.parse(verb));
            }
            case "controller" ->
                new Action.Output(
                        OfPort.CONTROLLER, arg == null ? OfPort.NO_BUFFER : (int) number("controller", arg, 0, 0xffff));
            case "push_vlan" -> new Action.PushVlan((int) number("push_vlan", need("push_vlan", arg), 0, 0xffff));
            case "pop_vlan", "strip_vlan" -> {
                if (arg != null) {
                    throw new IllegalArgumentException(verb + " takes no argument");
                }
                yield new Action.PopVlan();
            }
            case "mod_dl_src" -> new Action.SetField(Field.ETH_SRC, mac("mod_dl_src", need(verb, arg)));
            case "mod_dl_dst" -> new Action.SetField(Field.ETH_DST, mac("mod_dl_dst", need(verb, arg)));
            case "mod_vlan_vid" ->
                new Action.SetField(Field.VLAN_VID, Field.OFPVID_PRESENT | number(verb, need(verb, arg), 0, 4095));
            case "set_field" -> {
                String a = need(verb, arg);
                int arrow = a.indexOf("->");
                if (arrow < 0) {
                    throw new IllegalArgumentException("set_field:VALUE->FIELD, got '" + shorten(a) + "'");
                }
                Field f = field(a.substring(arrow + 2).strip());
                if (f == null) {
                    throw new IllegalArgumentException(
                            "set_field: unknown field '" + shorten(a.substring(arrow + 2)) + "'");
                }
                String v = a.substring(0, arrow).strip();
                long value = switch (f) {
                    case ETH_SRC, ETH_DST -> mac("set_field", v);
                    case VLAN_VID -> unsigned("set_field", v);
                    default ->
                        throw new IllegalArgumentException(
                                "set_field of " + f.ofName() + " is not supported (eth_src, eth_dst, vlan_vid)");
                };
                yield new Action.SetField(f, value);
            }
            default -> {
                if (!verb.isEmpty() && verb.chars().allMatch(Character::isDigit) && arg == null) {
                    yield new Action.Output(port(verb));
                }
                throw new IllegalArgumentException("unknown action '" + shorten(item) + "'");
            }
        };
    }
}
