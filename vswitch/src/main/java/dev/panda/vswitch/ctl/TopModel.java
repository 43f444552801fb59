package dev.panda.vswitch.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What {@code panda top} shows. A {@link Sample} is the vswitch's counters at one instant, read from
 * the control API's {@code /v1/show}, {@code /v1/ports/stats} and {@code /v1/pmd-stats} answers; a
 * {@link View} is the rates between two samples (per second, over the time that really passed
 * between them). A counter that went backwards (a port deleted and added again, pmd-stats cleared)
 * or that the earlier sample lacks has no rate ({@code NaN}, shown as {@code -}).
 *
 * <p>The answers are read as JSON trees: a field missing or of another type reads as 0 or empty, so
 * a vswitch that adds fields (or lacks some) still shows; an answer that is not a JSON object, or
 * whose lists are not lists, is refused with a {@link MalformedException}.
 */
final class TopModel {

    /** The drop reason that counts frames flooded because the FDB was full: counted, not lost. */
    static final String NOT_LOST = "table_full";

    private TopModel() {}

    /** A vswitch answer that top cannot read. */
    static final class MalformedException extends IOException {
        MalformedException(String message) {
            super(message);
        }
    }

    /** What {@code /v1/show} says about a port. */
    record PortInfo(
            String device,
            String driver,
            String mac,
            String link,
            String vlan,
            int rxQueues,
            int txQueues,
            List<Integer> pmds) {}

    /** One port's counters; {@code info} is null if {@code /v1/show} did not list it. */
    record PortCounters(
            String bridge,
            String name,
            long rxPackets,
            long rxBytes,
            long txPackets,
            long txBytes,
            long floods,
            Map<String, Long> drops,
            PortInfo info) {}

    /** One poller or pipeline stage; {@code busyNs} is busy-ns-per-packet times packets. */
    record PmdCounters(
            String name,
            int core,
            String role,
            List<String> rxqs,
            long iterations,
            long packets,
            double busyNs,
            double tscGhz,
            long maxIterationNs,
            Long ringBacklog,
            Integer ringSize) {}

    /** One bridge: FDB size from {@code /v1/show}, learning counters from {@code /v1/ports/stats}. */
    record BridgeRow(String name, long fdbEntries, long fdbSize, long learned, long moved, long aged, long tableFull) {}

    /**
     * The counters at one instant.
     *
     * @param portsNanos {@code System.nanoTime()} halfway through the {@code ports/stats} call
     * @param pmdNanos   the same for {@code pmd-stats}
     */
    record Sample(
            long portsNanos,
            long pmdNanos,
            String mode,
            List<Integer> cores,
            List<PortCounters> ports,
            List<PmdCounters> pmds,
            List<BridgeRow> bridges) {

        static Sample parse(JsonNode show, JsonNode stats, JsonNode pmd, long portsNanos, long pmdNanos)
                throws MalformedException {
            object(show, "show");
            object(stats, "ports/stats");
            object(pmd, "pmd-stats");
            Map<String, PortInfo> infos = new HashMap<>();
            Map<String, long[]> fdb = new HashMap<>();
            for (JsonNode b : list(show, "bridges", "show")) {
                fdb.put(text(b, "name"), new long[] {
                    b.path("fdb-entries").asLong(), b.path("mac-table-size").asLong()
                });
                for (JsonNode p : list(b, "ports", "show")) {
                    infos.put(
                            text(p, "name"),
                            new PortInfo(
                                    text(p, "device"),
                                    text(p, "driver"),
                                    text(p, "mac"),
                                    text(p, "link"),
                                    vlan(p),
                                    p.path("rx-queues").asInt(),
                                    p.path("tx-queues").asInt(),
                                    ints(p.path("pmds"))));
                }
            }
            List<PortCounters> ports = new ArrayList<>();
            for (JsonNode p : list(stats, "ports", "ports/stats")) {
                Map<String, Long> drops = new TreeMap<>();
                p.path("drops")
                        .properties()
                        .forEach(e -> drops.put(clean(e.getKey()), e.getValue().asLong()));
                String name = text(p, "port");
                ports.add(new PortCounters(
                        text(p, "bridge"),
                        name,
                        p.path("rx-packets").asLong(),
                        p.path("rx-bytes").asLong(),
                        p.path("tx-packets").asLong(),
                        p.path("tx-bytes").asLong(),
                        p.path("floods").asLong(),
                        Collections.unmodifiableMap(drops),
                        infos.get(name)));
            }
            List<BridgeRow> bridges = new ArrayList<>();
            for (JsonNode b : list(stats, "bridges", "ports/stats")) {
                String name = text(b, "bridge");
                long[] f = fdb.getOrDefault(name, new long[2]);
                bridges.add(new BridgeRow(
                        name,
                        f[0],
                        f[1],
                        b.path("learned").asLong(),
                        b.path("moved").asLong(),
                        b.path("aged").asLong(),
                        b.path("table-full").asLong()));
            }
            List<PmdCounters> pmds = new ArrayList<>();
            for (JsonNode p : list(pmd, "pmds", "pmd-stats")) {
                List<String> rxqs = new ArrayList<>();
                p.path("rxqs").forEach(q -> rxqs.add(clean(q.asText())));
                long packets = p.path("packets").asLong();
                pmds.add(new PmdCounters(
                        text(p, "pmd"),
                        p.path("core").asInt(),
                        text(p, "role"),
                        List.copyOf(rxqs),
                        p.path("iterations").asLong(),
                        packets,
                        p.path("busy-ns-per-packet").asDouble() * packets,
                        p.path("tsc-ghz").asDouble(),
                        p.path("max-iteration-ns").asLong(),
                        p.hasNonNull("ring-backlog") ? p.path("ring-backlog").asLong() : null,
                        p.hasNonNull("ring-size") ? p.path("ring-size").asInt() : null));
            }
            JsonNode mode = show.path("pmd");
            return new Sample(
                    portsNanos,
                    pmdNanos,
                    clean(mode.path("mode").asText("?")),
                    ints(mode.path("cores")),
                    List.copyOf(ports),
                    List.copyOf(pmds),
                    List.copyOf(bridges));
        }
    }

    /** A counter's total and its rate per second ({@code NaN}: unknown). */
    record Rate(long total, double perSecond) {}

    /** A port's row: its counters' rates; drops without {@link #NOT_LOST}, by reason with it. */
    record PortRow(
            PortCounters now,
            Rate rxPackets,
            Rate rxBytes,
            Rate txPackets,
            Rate txBytes,
            Rate floods,
            Rate drops,
            Map<String, Rate> dropsByReason) {
        String name() {
            return now.name();
        }
    }

    /**
     * A poller's or stage's row, over the interval: the share of time it was busy, busy TSC cycles
     * per packet it handled, and packets per second; the ring backlog as the second sample saw it.
     */
    record PmdRow(PmdCounters now, double busyShare, double cyclesPerPacket, double pps) {}

    /**
     * Rates between two samples.
     *
     * @param seconds the time between the two {@code ports/stats} calls ({@code NaN} if there is one
     *                sample only)
     */
    record View(Sample now, double seconds, List<PortRow> ports, List<PmdRow> pmds) {}

    /** The rates from {@code prev} (null: none yet) to {@code now}. */
    static View compute(Sample prev, Sample now) {
        double portSeconds = prev == null ? Double.NaN : (now.portsNanos() - prev.portsNanos()) / 1e9;
        double pmdSeconds = prev == null ? Double.NaN : (now.pmdNanos() - prev.pmdNanos()) / 1e9;
        Map<String, PortCounters> before = new HashMap<>();
        Map<String, PmdCounters> pmdBefore = new HashMap<>();
        if (prev != null) {
            prev.ports().forEach(p -> before.put(p.name(), p));
            prev.pmds().forEach(p -> pmdBefore.put(p.name(), p));
        }
        List<PortRow> ports = new ArrayList<>();
        for (PortCounters p : now.ports()) {
            PortCounters b = before.get(p.name());
            double s = b == null || wentBack(b, p) ? Double.NaN : portSeconds;
            Map<String, Rate> reasons = new LinkedHashMap<>();
            long lost = 0;
            long lostBefore = 0;
            for (Map.Entry<String, Long> e : p.drops().entrySet()) {
                Long was = b == null ? null : b.drops().get(e.getKey());
                reasons.put(e.getKey(), rate(was, e.getValue(), s));
                if (!e.getKey().equals(NOT_LOST)) {
                    lost += e.getValue();
                    lostBefore += was == null ? 0 : was;
                }
            }
            ports.add(new PortRow(
                    p,
                    rate(b == null ? null : b.rxPackets(), p.rxPackets(), s),
                    rate(b == null ? null : b.rxBytes(), p.rxBytes(), s),
                    rate(b == null ? null : b.txPackets(), p.txPackets(), s),
                    rate(b == null ? null : b.txBytes(), p.txBytes(), s),
                    rate(b == null ? null : b.floods(), p.floods(), s),
                    rate(b == null ? null : lostBefore, lost, s),
                    Collections.unmodifiableMap(reasons)));
        }
        List<PmdRow> pmds = new ArrayList<>();
        for (PmdCounters p : now.pmds()) {
            PmdCounters b = pmdBefore.get(p.name());
            if (b == null
                    || !(pmdSeconds > 0)
                    || p.packets() < b.packets()
                    || p.iterations() < b.iterations()
                    || p.busyNs() < b.busyNs()) {
                pmds.add(new PmdRow(p, Double.NaN, Double.NaN, Double.NaN));
                continue;
            }
            double busyNs = p.busyNs() - b.busyNs();
            long packets = p.packets() - b.packets();
            pmds.add(new PmdRow(
                    p,
                    Math.min(1.0, busyNs / (pmdSeconds * 1e9)),
                    packets == 0 ? Double.NaN : busyNs / packets * p.tscGhz(),
                    packets / pmdSeconds));
        }
        return new View(now, portSeconds, List.copyOf(ports), List.copyOf(pmds));
    }

    private static boolean wentBack(PortCounters b, PortCounters p) {
        return p.rxPackets() < b.rxPackets()
                || p.rxBytes() < b.rxBytes()
                || p.txPackets() < b.txPackets()
                || p.txBytes() < b.txBytes()
                || p.floods() < b.floods();
    }

    private static Rate rate(Long was, long now, double seconds) {
        if (was == null || now < was || !(seconds > 0)) {
            return new Rate(now, Double.NaN);
        }
        return new Rate(now, (now - was) / seconds);
    }

    /** The orders of the port table: {@code --sort KEY} and the key that picks it on the screen. */
    enum SortKey {
        NAME("name", 'n', "port name, A to Z"),
        RX_PPS("rx-pps", 'r', "received packets per second, most first"),
        TX_PPS("tx-pps", 't', "sent packets per second, most first"),
        RX_BPS("rx-bps", 'R', "received bits per second, most first"),
        TX_BPS("tx-bps", 'T', "sent bits per second, most first"),
        DROPS("drops", 'd', "drops per second, then total drops, most first");

        final String key;
        final char letter;
        final String what;

        SortKey(String key, char letter, String what) {
            this.key = key;
            this.letter = letter;
            this.what = what;
        }

        /** The key named {@code s}, or null. */
        static SortKey of(String s) {
            for (SortKey k : values()) {
                if (k.key.equals(s)) {
                    return k;
                }
            }
            return null;
        }

        static String names() {
            List<String> n = new ArrayList<>();
            for (SortKey k : values()) {
                n.add(k.key);
            }
            return String.join(", ", n);
        }

        SortKey next() {
            return values()[(ordinal() + 1) % values().length];
        }

        /** Descending for numbers (unknown rates last), ascending for names; ties by name. */
        Comparator<PortRow> order() {
            Comparator<PortRow> byName = Comparator.comparing(PortRow::name);
            return switch (this) {
                case NAME -> byName;
                case RX_PPS -> most(r -> r.rxPackets().perSecond()).thenComparing(byName);
                case TX_PPS -> most(r -> r.txPackets().perSecond()).thenComparing(byName);
                case RX_BPS -> most(r -> r.rxBytes().perSecond()).thenComparing(byName);
                case TX_BPS -> most(r -> r.txBytes().perSecond()).thenComparing(byName);
                case DROPS ->
                    most(r -> r.drops().perSecond())
                            .thenComparing(most(r -> (double) r.drops().total()))
                            .thenComparing(byName);
            };
        }

        private static Comparator<PortRow> most(java.util.function.ToDoubleFunction<PortRow> f) {
            return (a, b) -> {
                double x = f.applyAsDouble(a);
                double y = f.applyAsDouble(b);
                if (Double.isNaN(x) || Double.isNaN(y)) {
                    return Boolean.compare(Double.isNaN(x), Double.isNaN(y));
                }
                return Double.compare(y, x);
            };
        }
    }

    /** The port rows in {@code key}'s order. */
    static List<PortRow> sorted(List<PortRow> rows, SortKey key) {
        List<PortRow> s = new ArrayList<>(rows);
        s.sort(key.order());
        return s;
    }

    private static void object(JsonNode n, String what) throws MalformedException {
        if (n == null || !n.isObject()) {
            throw new MalformedException("the vswitch's " + what + " answer is not a JSON object");
        }
    }

    private static Iterable<JsonNode> list(JsonNode n, String field, String what) throws MalformedException {
        JsonNode l = n.path(field);
        if (l.isMissingNode() || l.isNull()) {
            return List.of();
        }
        if (!l.isArray()) {
            throw new MalformedException("the vswitch's " + what + " answer: '" + field + "' is not a list");
        }
        return l;
    }

    private static String vlan(JsonNode p) {
        return switch (p.path("vlan-mode").asText("all")) {
            case "access" -> "access, tag " + p.path("tag").asInt();
            case "trunk" ->
                "trunk "
                        + String.join(
                                ",",
                                ints(p.path("trunks")).stream()
                                        .map(String::valueOf)
                                        .toList())
                        + (p.hasNonNull("native-vlan")
                                ? ", native " + p.path("native-vlan").asInt()
                                : "");
            default ->
                "all VLANs"
                        + (p.hasNonNull("native-vlan")
                                ? ", native " + p.path("native-vlan").asInt()
                                : "");
        };
    }

    private static List<Integer> ints(JsonNode list) {
        List<Integer> out = new ArrayList<>();
        list.forEach(n -> out.add(n.asInt()));
        return List.copyOf(out);
    }

    private static String text(JsonNode n, String field) {
        return clean(n.path(field).asText(""));
    }

    /**
     * A name from the vswitch as top prints it: at most 64 characters, control characters (which
     * could drive the terminal) and spaces (which would split a {@code --once} column) as {@code ?}
     * and {@code _}; empty as {@code ?}.
     */
    static String clean(String s) {
        return s.isEmpty() ? "?" : printable(s, 64).replace(' ', '_');
    }

    /** At most {@code max} characters of {@code s}, each control or wide character as {@code ?}. */
    static String printable(String s, int max) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), max));
        for (int i = 0; i < s.length() && b.length() < max; i++) {
            char c = s.charAt(i);
            b.append(Character.isISOControl(c) || Character.isSurrogate(c) || c >= 0x2000 ? '?' : c);
        }
        return b.toString();
    }
}
