package dev.panda.vswitch.ctl;

import dev.panda.vswitch.ctl.TopModel.BridgeRow;
import dev.panda.vswitch.ctl.TopModel.PmdRow;
import dev.panda.vswitch.ctl.TopModel.PortCounters;
import dev.panda.vswitch.ctl.TopModel.PortRow;
import dev.panda.vswitch.ctl.TopModel.Rate;
import dev.panda.vswitch.ctl.TopModel.SortKey;
import dev.panda.vswitch.ctl.TopModel.View;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jline.utils.AttributedString;
import org.jline.utils.AttributedStringBuilder;
import org.jline.utils.AttributedStyle;

/**
 * {@code panda top}'s output: the live screen (a list of styled lines exactly as tall and no wider
 * than the terminal) and the {@code --once} text. Pure functions of a {@link View} and a
 * {@link TopState}.
 */
final class TopRender {

    static final String HELP = "q quit  j/k,Up/Down select  Enter detail  sort: n name  r rx-pps  t tx-pps"
            + "  R rx-bps  T tx-bps  d drops  s next";
    static final String HELP_DETAIL = "q quit  Esc/Backspace/Enter back  j/k,Up/Down other port";

    private static final AttributedStyle BAR = AttributedStyle.INVERSE;
    private static final AttributedStyle HEAD = AttributedStyle.BOLD;
    private static final String[] PORT_COLUMNS = {"RX-PPS", "RX-BPS", "TX-PPS", "TX-BPS", "DROP/S", "DROPS", "FLOOD/S"};

    private TopRender() {}

    /** What the screen needs besides the view. */
    record Frame(String socket, double interval, String clock, String status, int rows, int cols) {}

    /** The screen: header, the port table (or one port's detail), pollers, bridges, status, help. */
    static List<AttributedString> screen(View v, TopState st, Frame f) {
        List<PortRow> ports = TopModel.sorted(v.ports(), st.sort);
        List<AttributedString> out = new ArrayList<>();
        if (f.rows() <= 0 || f.cols() <= 0) {
            return out;
        }
        out.add(bar(header(v, st, f), f.clock(), f.cols()));
        int avail = f.rows() - 2 - (f.status() == null ? 0 : 1);
        List<AttributedString> body = new ArrayList<>();
        int sel = st.index(ports);
        if (st.detail && sel >= 0) {
            for (String l : detail(ports.get(sel), v)) {
                body.add(new AttributedString(l));
            }
        } else {
            List<AttributedString> lower = lower(v);
            int n = ports.size();
            int shown = Math.max(0, Math.min(n, Math.max(Math.min(n, 3), avail - 1 - lower.size())));
            int first = Math.clamp(sel - shown + 1, 0, Math.max(0, n - shown));
            int nw = width(ports.stream().map(PortRow::name).toList(), 4);
            int bw = width(ports.stream().map(p -> p.now().bridge()).toList(), 6);
            body.add(portHeader(nw, bw, st.sort, n > shown ? (first + 1) + "-" + (first + shown) + " of " + n : null));
            if (n == 0) {
                body.add(new AttributedString("  (no ports: add one with panda ctl add-port)"));
            }
            for (int i = first; i < first + shown; i++) {
                String row = portRow(ports.get(i), nw, bw, i == sel);
                body.add(i == sel ? new AttributedString(row, BAR) : new AttributedString(row));
            }
            body.addAll(lower);
        }
        for (int i = 0; i < avail; i++) {
            out.add(clip(i < body.size() ? body.get(i) : AttributedString.EMPTY, f.cols()));
        }
        if (f.status() != null) {
            out.add(clip(new AttributedString(f.status(), HEAD), f.cols()));
        }
        out.add(clip(new AttributedString(pad(st.detail ? HELP_DETAIL : HELP, f.cols()), BAR), f.cols()));
        return out.subList(0, Math.min(out.size(), f.rows()));
    }

    private static String header(View v, TopState st, Frame f) {
        return String.format(
                Locale.ROOT,
                "panda top  %s  pmd %s, cores %s  every %s s  sort %s",
                f.socket(),
                v.now().mode(),
                v.now().cores().isEmpty()
                        ? "none"
                        : String.join(
                                ",",
                                v.now().cores().stream().map(String::valueOf).toList()),
                num(f.interval()),
                st.sort.key);
    }

    private static AttributedString portHeader(int nw, int bw, SortKey sort, String scroll) {
        AttributedStringBuilder b = new AttributedStringBuilder();
        b.style(HEAD);
        b.append(String.format("  %-" + nw + "s  %-" + bw + "s  %-4s", "PORT", "BRIDGE", "LINK"));
        for (String c : PORT_COLUMNS) {
            b.append(" ");
            boolean sorted = switch (sort) {
                case RX_PPS -> c.equals("RX-PPS");
                case TX_PPS -> c.equals("TX-PPS");
                case RX_BPS -> c.equals("RX-BPS");
                case TX_BPS -> c.equals("TX-BPS");
                case DROPS -> c.equals("DROP/S");
                case NAME -> false;
            };
            b.style(sorted ? HEAD.inverse() : HEAD);
            b.append(String.format("%8s", c));
            b.style(HEAD);
        }
        if (scroll != null) {
            b.append("  (" + scroll + ")");
        }
        return b.toAttributedString();
    }

    private static String portRow(PortRow p, int nw, int bw, boolean selected) {
        PortCounters c = p.now();
        return String.format(
                "%s%-" + nw + "." + nw + "s  %-" + bw + "." + bw + "s  %-4.4s %8s %8s %8s %8s %8s %8s %8s",
                selected ? "> " : "  ",
                c.name(),
                c.bridge(),
                c.info() == null ? "?" : c.info().link(),
                si(p.rxPackets().perSecond()),
                si(p.rxBytes().perSecond() * 8),
                si(p.txPackets().perSecond()),
                si(p.txBytes().perSecond() * 8),
                si(p.drops().perSecond()),
                si(p.drops().total()),
                si(p.floods().perSecond()));
    }

    /** The pollers' and the bridges' tables, each after an empty line. */
    private static List<AttributedString> lower(View v) {
        List<AttributedString> out = new ArrayList<>();
        int w = width(v.pmds().stream().map(p -> p.now().name()).toList(), 3);
        out.add(AttributedString.EMPTY);
        out.add(new AttributedString(
                String.format(
                        "  %-" + w + "." + w + "s  %4s  %-8s  %6s  %7s  %7s  %-14s  %s",
                        "PMD",
                        "CORE",
                        "ROLE",
                        "BUSY",
                        "CYC/PKT",
                        "PPS",
                        "RING",
                        "RX QUEUES"),
                HEAD));
        for (PmdRow p : v.pmds()) {
            out.add(new AttributedString(String.format(
                    Locale.ROOT,
                    "  %-" + w + "." + w + "s  %4d  %-8.8s  %6s  %7s  %7s  %-14s  %s",
                    p.now().name(),
                    p.now().core(),
                    p.now().role(),
                    Double.isNaN(p.busyShare()) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * p.busyShare()),
                    Double.isNaN(p.cyclesPerPacket()) ? "-" : String.format(Locale.ROOT, "%.0f", p.cyclesPerPacket()),
                    si(p.pps()),
                    ring(p),
                    p.now().rxqs().isEmpty() ? "-" : String.join(" ", p.now().rxqs()))));
        }
        List<BridgeRow> bridges = v.now().bridges();
        int bw = width(bridges.stream().map(BridgeRow::name).toList(), 6);
        out.add(AttributedString.EMPTY);
        out.add(new AttributedString(
                String.format(
                        "  %-" + bw + "s  %9s  %9s  %5s  %9s  %7s  %7s  %10s",
                        "BRIDGE",
                        "FDB",
                        "FDB-SIZE",
                        "USE",
                        "LEARNED",
                        "MOVED",
                        "AGED",
                        "TABLE-FULL"),
                HEAD));
        for (BridgeRow b : bridges) {
            out.add(new AttributedString(String.format(
                    Locale.ROOT,
                    "  %-" + bw + "." + bw + "s  %9d  %9d  %5s  %9d  %7d  %7d  %10d",
                    b.name(),
                    b.fdbEntries(),
                    b.fdbSize(),
                    b.fdbSize() <= 0 ? "-" : String.format(Locale.ROOT, "%.0f%%", 100.0 * b.fdbEntries() / b.fdbSize()),
                    b.learned(),
                    b.moved(),
                    b.aged(),
                    b.tableFull())));
        }
        return out;
    }

    private static String ring(PmdRow p) {
        Long backlog = p.now().ringBacklog();
        Integer size = p.now().ringSize();
        if (backlog == null || size == null || size <= 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%d/%d %.0f%%", backlog, size, 100.0 * backlog / size);
    }

    /** One port's detail: what it is, who polls it, its counters and its drops by reason. */
    static List<String> detail(PortRow p, View v) {
        PortCounters c = p.now();
        List<String> out = new ArrayList<>();
        out.add("Port " + c.name() + " on bridge " + c.bridge());
        if (c.info() != null) {
            TopModel.PortInfo i = c.info();
            out.add("  device   " + i.device());
            out.add("  driver   " + i.driver() + "   mac " + i.mac() + "   link " + i.link());
            out.add("  vlan     " + i.vlan());
            out.add("  queues   rx " + i.rxQueues() + ", tx " + i.txQueues() + "   pmd cores "
                    + (i.pmds().isEmpty()
                            ? "none"
                            : String.join(
                                    ",", i.pmds().stream().map(String::valueOf).toList())));
        }
        for (PmdRow r : v.pmds()) {
            List<String> mine = r.now().rxqs().stream()
                    .filter(q -> q.startsWith(c.name() + "/"))
                    .toList();
            if (!mine.isEmpty()) {
                out.add(String.format(
                        Locale.ROOT,
                        "  polled by %s (core %d, %s): busy %s",
                        r.now().name(),
                        r.now().core(),
                        String.join(" ", mine),
                        Double.isNaN(r.busyShare()) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * r.busyShare())));
            }
        }
        out.add("");
        out.add(String.format("  %-16s %10s %16s", "COUNTER", "PER-S", "TOTAL"));
        out.add(counter("rx packets", p.rxPackets()));
        out.add(counter("rx bytes", p.rxBytes()));
        out.add(counter("tx packets", p.txPackets()));
        out.add(counter("tx bytes", p.txBytes()));
        out.add(counter("floods", p.floods()));
        out.add(counter("drops", p.drops()));
        out.add(String.format(
                "  rx %sbit/s, tx %sbit/s",
                si(p.rxBytes().perSecond() * 8), si(p.txBytes().perSecond() * 8)));
        out.add("");
        out.add(String.format("  %-16s %10s %16s", "DROPS BY REASON", "PER-S", "TOTAL"));
        if (p.dropsByReason().isEmpty()) {
            out.add("  (the vswitch reports no drop counters for this port)");
        }
        for (Map.Entry<String, Rate> e : p.dropsByReason().entrySet()) {
            out.add(counter(e.getKey(), e.getValue())
                    + (e.getKey().equals(TopModel.NOT_LOST) ? "   (flooded: FDB full; not lost)" : ""));
        }
        return out;
    }

    private static String counter(String name, Rate r) {
        return String.format("  %-16s %10s %16d", name, si(r.perSecond()), r.total());
    }

    /**
     * {@code --once}: a comment line, then one table per kind, each a {@code #kind} header line and
     * rows whose first word is the kind; columns are single words separated by spaces, rates per
     * second with one decimal ({@code -} when unknown), totals as integers.
     */
    static String once(View v, SortKey sort, String socket) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(
                Locale.ROOT,
                "# panda top --once: %.3f s between samples, socket %s, pmd mode %s, sort %s%n",
                v.seconds(),
                socket,
                v.now().mode(),
                sort.key));
        List<PortRow> ports = TopModel.sorted(v.ports(), sort);
        List<String[]> t = new ArrayList<>();
        t.add(new String[] {
            "#port",
            "NAME",
            "BRIDGE",
            "LINK",
            "RX-PPS",
            "RX-BPS",
            "TX-PPS",
            "TX-BPS",
            "DROPS-PER-S",
            "DROPS",
            "FLOODS-PER-S",
            "RX-PACKETS",
            "TX-PACKETS",
            "RX-BYTES",
            "TX-BYTES"
        });
        for (PortRow p : ports) {
            PortCounters c = p.now();
            t.add(new String[] {
                "port",
                c.name(),
                c.bridge(),
                c.info() == null ? "?" : c.info().link(),
                r1(p.rxPackets().perSecond()),
                r1(p.rxBytes().perSecond() * 8),
                r1(p.txPackets().perSecond()),
                r1(p.txBytes().perSecond() * 8),
                r1(p.drops().perSecond()),
                Long.toString(p.drops().total()),
                r1(p.floods().perSecond()),
                Long.toString(c.rxPackets()),
                Long.toString(c.txPackets()),
                Long.toString(c.rxBytes()),
                Long.toString(c.txBytes())
            });
        }
        table(sb, t);
        t.clear();
        t.add(new String[] {"#drop", "PORT", "REASON", "PER-S", "TOTAL"});
        for (PortRow p : ports) {
            p.dropsByReason()
                    .forEach((reason, r) -> t.add(
                            new String[] {"drop", p.name(), reason, r1(r.perSecond()), Long.toString(r.total())}));
        }
        table(sb, t);
        t.clear();
        t.add(new String[] {
            "#pmd",
            "NAME",
            "CORE",
            "ROLE",
            "BUSY-PCT",
            "CYCLES-PER-PACKET",
            "PPS",
            "PACKETS",
            "RING-BACKLOG",
            "RING-SIZE"
        });
        for (PmdRow p : v.pmds()) {
            t.add(new String[] {
                "pmd",
                p.now().name(),
                Integer.toString(p.now().core()),
                p.now().role(),
                r3(100 * p.busyShare()),
                r1(p.cyclesPerPacket()),
                r1(p.pps()),
                Long.toString(p.now().packets()),
                p.now().ringBacklog() == null ? "-" : p.now().ringBacklog().toString(),
                p.now().ringSize() == null ? "-" : p.now().ringSize().toString()
            });
        }
        table(sb, t);
        t.clear();
        t.add(new String[] {"#bridge", "NAME", "FDB-ENTRIES", "FDB-SIZE", "LEARNED", "MOVED", "AGED", "TABLE-FULL"});
        for (BridgeRow b : v.now().bridges()) {
            t.add(new String[] {
                "bridge",
                b.name(),
                Long.toString(b.fdbEntries()),
                Long.toString(b.fdbSize()),
                Long.toString(b.learned()),
                Long.toString(b.moved()),
                Long.toString(b.aged()),
                Long.toString(b.tableFull())
            });
        }
        table(sb, t);
        return sb.toString();
    }

    private static void table(StringBuilder sb, List<String[]> rows) {
        int[] w = new int[rows.getFirst().length];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                line.append(i == 0 ? "" : "  ").append(r[i]);
                if (i < r.length - 1) {
                    line.append(" ".repeat(w[i] - r[i].length()));
                }
            }
            sb.append(line).append('\n');
        }
    }

    /** A rate with one decimal, {@code -} if unknown. */
    static String r1(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
    }

    /**
     * Three decimals, for a percentage that is small but not zero: a poller busy 0.047% of an
     * interval (4000 packets a second at 290 cycles each) is not idle, and one decimal would say 0.0.
     */
    static String r3(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3f", v);
    }

    /** A number in at most 5 characters: {@code 999}, {@code 2.98k}, {@code 12.3M}; {@code -} if unknown. */
    static String si(double v) {
        if (Double.isNaN(v)) {
            return "-";
        }
        if (v < 999.5) {
            return v >= 10 || v == Math.rint(v)
                    ? String.format(Locale.ROOT, "%.0f", v)
                    : String.format(Locale.ROOT, "%.1f", v);
        }
        String units = "kMGTPE";
        int u = -1;
        while (v >= 999.5 && u < units.length() - 1) {
            v /= 1000;
            u++;
        }
        String f = v < 9.995 ? "%.2f" : v < 99.95 ? "%.1f" : "%.0f";
        return String.format(Locale.ROOT, f, v) + units.charAt(u);
    }

    private static String num(double seconds) {
        return seconds == Math.rint(seconds)
                ? String.format(Locale.ROOT, "%.0f", seconds)
                : String.format(Locale.ROOT, "%.1f", seconds);
    }

    private static int width(List<String> names, int min) {
        int w = min;
        for (String n : names) {
            w = Math.max(w, n.length());
        }
        return Math.min(w, 24);
    }

    private static AttributedString bar(String left, String right, int cols) {
        String l = left;
        if (right != null && l.length() + 2 + right.length() <= cols) {
            l = l + " ".repeat(cols - l.length() - right.length()) + right;
        }
        return clip(new AttributedString(pad(l, cols), BAR), cols);
    }

    private static String pad(String s, int cols) {
        return s.length() >= cols ? s : s + " ".repeat(cols - s.length());
    }

    private static AttributedString clip(AttributedString s, int cols) {
        return s.columnLength() <= cols ? s : s.columnSubSequence(0, cols);
    }
}
