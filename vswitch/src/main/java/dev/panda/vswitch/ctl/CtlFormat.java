package dev.panda.vswitch.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Human-readable {@code panda ctl} output in the layouts operators grep: {@code ovs-vsctl show},
 * {@code ovs-appctl fdb/show}, {@code ovs-ofctl dump-ports} and {@code dpif-netdev/pmd-stats-show}.
 * Reads the API's JSON as trees, so fields the vswitch adds later do not break it.
 */
final class CtlFormat {

    private CtlFormat() {}

    /** Like {@code ovs-vsctl show}: the pollers, then each bridge and its ports. */
    static String show(JsonNode show) {
        StringBuilder sb = new StringBuilder();
        JsonNode pmd = show.path("pmd");
        sb.append(String.format(
                "panda vswitch (pmd mode %s, cores %s, idle %s)%n",
                pmd.path("mode").asText("?"),
                ints(pmd.path("cores"), "none"),
                pmd.path("idle").asText("?")));
        for (JsonNode b : show.path("bridges")) {
            sb.append("    Bridge ").append(b.path("name").asText()).append('\n');
            sb.append(String.format(
                    "        mac-aging: %d, mac-table-size: %d, fdb entries: %d%n",
                    b.path("mac-aging").asLong(),
                    b.path("mac-table-size").asLong(),
                    b.path("fdb-entries").asLong()));
            for (JsonNode c : b.path("controllers")) {
                sb.append("        Controller \"")
                        .append(c.path("target").asText())
                        .append("\"\n");
                sb.append(String.format(
                        "            state: %s, address: %s, connections: %d%n",
                        c.path("state").asText("?"),
                        c.path("address").asText("-"),
                        c.path("connections").asInt()));
            }
            for (JsonNode p : b.path("ports")) {
                sb.append("        Port ").append(p.path("name").asText()).append('\n');
                sb.append("            device: ")
                        .append(p.path("device").asText())
                        .append('\n');
                sb.append(String.format(
                        "            driver: %s, mac: %s, link: %s%n",
                        p.path("driver").asText("?"),
                        p.path("mac").asText("?"),
                        p.path("link").asText("?")));
                sb.append("            ").append(vlan(p)).append('\n');
                if (p.hasNonNull("rx-filter")) {
                    sb.append("            rx-filter: ")
                            .append(p.path("rx-filter").asText())
                            .append('\n');
                }
                sb.append(String.format(
                        "            queues: rx %d, tx %d, pmd cores %s%n",
                        p.path("rx-queues").asInt(), p.path("tx-queues").asInt(), ints(p.path("pmds"), "none")));
            }
        }
        return sb.toString();
    }

    private static String vlan(JsonNode p) {
        String mode = p.path("vlan-mode").asText("all");
        return switch (mode) {
            case "access" -> "vlan: access, tag: " + p.path("tag").asText();
            case "trunk" ->
                "vlan: trunk, trunks: " + ints(p.path("trunks"), "none")
                        + (p.hasNonNull("native-vlan")
                                ? ", native-vlan: " + p.path("native-vlan").asText()
                                : "");
            default ->
                "vlan: all (untagged and every tag)"
                        + (p.hasNonNull("native-vlan")
                                ? ", native-vlan: " + p.path("native-vlan").asText()
                                : "");
        };
    }

    /** Like {@code ovs-appctl fdb/show}: {@code  port  VLAN  MAC                Age}. */
    static String fdb(JsonNode fdb) {
        int w = 5;
        for (JsonNode e : fdb.path("table")) {
            w = Math.max(w, e.path("port").asText().length());
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%" + w + "s  VLAN  MAC                Age%n", "port"));
        for (JsonNode e : fdb.path("table")) {
            sb.append(String.format(
                    "%" + w + "s  %4d  %-17s  %3d%n",
                    e.path("port").asText(),
                    e.path("vlan").asInt(),
                    e.path("mac").asText(),
                    e.path("age").asLong()));
        }
        return sb.toString();
    }

    /** Like {@code ovs-ofctl dump-ports}: per port rx/tx, then drops by reason; then per bridge. */
    static String stats(JsonNode stats) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode p : stats.path("ports")) {
            sb.append(String.format(
                    "  port %s (%s): rx pkts=%d, bytes=%d, floods=%d%n",
                    p.path("port").asText(),
                    p.path("bridge").asText(),
                    p.path("rx-packets").asLong(),
                    p.path("rx-bytes").asLong(),
                    p.path("floods").asLong()));
            sb.append(String.format(
                    "           tx pkts=%d, bytes=%d%n",
                    p.path("tx-packets").asLong(), p.path("tx-bytes").asLong()));
            Map<String, Long> drops = new TreeMap<>();
            p.path("drops")
                    .properties()
                    .forEach(e -> drops.put(e.getKey(), e.getValue().asLong()));
            if (!drops.isEmpty()) {
                List<String> parts = new ArrayList<>();
                drops.forEach((k, v) -> parts.add(k + "=" + v));
                sb.append("           drops ").append(String.join(", ", parts)).append('\n');
            }
            if (p.has("tunnel")) {
                List<String> parts = new ArrayList<>();
                p.path("tunnel")
                        .properties()
                        .forEach(e -> parts.add(e.getKey() + "=" + e.getValue().asLong()));
                sb.append("           tunnel ").append(String.join(", ", parts)).append('\n');
            }
        }
        for (JsonNode b : stats.path("bridges")) {
            sb.append(String.format(
                    "  bridge %s: learned=%d, moved=%d, aged=%d, table-full=%d, floods=%d%n",
                    b.path("bridge").asText(),
                    b.path("learned").asLong(),
                    b.path("moved").asLong(),
                    b.path("aged").asLong(),
                    b.path("table-full").asLong(),
                    b.path("floods").asLong()));
        }
        return sb.toString();
    }

    /** Like {@code ovs-appctl dpif-netdev/pmd-stats-show} (with pmd-perf-show's longest iterations). */
    /** dump-flows: one line per flow, as ovs-ofctl dump-flows prints them. */
    static String flows(JsonNode answer) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode f : answer.path("flows")) {
            sb.append(f.path("text").asText()).append('\n');
        }
        return sb.toString();
    }

    static String pmdStats(JsonNode answer) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode p : answer.path("pmds")) {
            sb.append(String.format(
                    "pmd thread core_id %d (%s, %s):%n",
                    p.path("core").asInt(),
                    p.path("pmd").asText(),
                    p.path("role").asText()));
            List<String> rxqs = new ArrayList<>();
            p.path("rxqs").forEach(q -> rxqs.add(q.asText()));
            sb.append("  rx queues: ")
                    .append(rxqs.isEmpty() ? "none" : String.join(", ", rxqs))
                    .append('\n');
            sb.append(String.format(
                    "  iterations: %d (busy %d)%n",
                    p.path("iterations").asLong(), p.path("busy-iterations").asLong()));
            sb.append(String.format("  packets: %d%n", p.path("packets").asLong()));
            sb.append(String.format(
                    Locale.ROOT, "  busy: %.2f%%%n", 100 * p.path("busy-ratio").asDouble()));
            sb.append(String.format(
                    Locale.ROOT,
                    "  avg processing ns per packet: %.2f%n",
                    p.path("busy-ns-per-packet").asDouble()));
            sb.append(String.format(
                    Locale.ROOT,
                    "  avg processing cycles per packet: %.2f (TSC %.2f GHz)%n",
                    p.path("busy-cycles-per-packet").asDouble(),
                    p.path("tsc-ghz").asDouble()));
            sb.append(String.format(
                    Locale.ROOT,
                    "  longest iteration: %.1f us%n",
                    p.path("max-iteration-ns").asLong() / 1000.0));
            sb.append(String.format(
                    "  iterations over 250 us: %d%n",
                    p.path("iterations-over250us").asLong()));
            if (p.hasNonNull("ring-backlog")) {
                sb.append(String.format(
                        "  ring backlog: %d of %d bursts%n",
                        p.path("ring-backlog").asLong(), p.path("ring-size").asInt()));
            }
            if (p.hasNonNull("flow-cache-hits")) {
                long hits = p.path("flow-cache-hits").asLong();
                long misses = p.path("flow-cache-misses").asLong();
                sb.append(String.format(
                        Locale.ROOT,
                        "  flow cache: %d hits, %d misses (%.1f%% hit)%n",
                        hits,
                        misses,
                        hits + misses == 0 ? 0.0 : 100.0 * hits / (hits + misses)));
            }
        }
        for (JsonNode t : answer.path("flow-tables")) {
            sb.append(String.format(
                    "flow table %s/%d: %d flows, %d lookups, %d matched%n",
                    t.path("bridge").asText(),
                    t.path("table").asInt(),
                    t.path("active").asInt(),
                    t.path("lookups").asLong(),
                    t.path("matched").asLong()));
        }
        return sb.toString();
    }

    /** {@code apply}: the difference, one line per change ({@code + port br0 c3 ...}); nothing if none. */
    static String diff(JsonNode answer) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode c : answer.path("changes")) {
            sb.append(c.path("line").asText()).append('\n');
        }
        return sb.toString();
    }

    private static String ints(JsonNode list, String none) {
        List<String> s = new ArrayList<>();
        list.forEach(n -> s.add(n.asText()));
        return s.isEmpty() ? none : String.join(",", s);
    }

    /** get-controller: one target per line, as ovs-vsctl prints them, then its state. */
    static String controllers(JsonNode n) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode c : n.path("controllers")) {
            sb.append(String.format(
                    "%s  %s  %s  connections=%d%n",
                    c.path("target").asText(),
                    c.path("state").asText("?").replace(' ', '_'),
                    c.path("address").asText("-"),
                    c.path("connections").asInt()));
        }
        return sb.toString();
    }
}
