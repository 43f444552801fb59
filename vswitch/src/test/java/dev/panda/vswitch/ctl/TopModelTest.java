package dev.panda.vswitch.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.control.Json;
import dev.panda.vswitch.ctl.TopModel.PmdRow;
import dev.panda.vswitch.ctl.TopModel.PortRow;
import dev.panda.vswitch.ctl.TopModel.Sample;
import dev.panda.vswitch.ctl.TopModel.SortKey;
import dev.panda.vswitch.ctl.TopModel.View;
import dev.panda.vswitch.ctl.TopState.Op;
import java.util.List;
import org.jline.utils.AttributedString;
import org.junit.jupiter.api.Test;

/** Rates from two samples, the orders, the key handling and both layouts, on hand-made answers. */
class TopModelTest {

    static final String SHOW = """
            {"bridges": [{"name": "br0", "mac-aging": 300, "mac-table-size": 8192, "fdb-entries": 3, "ports": [
              {"name": "alpha", "id": 0, "device": "net_ring1,peer=net_ring0", "driver": "net_ring",
               "mac": "02:00:00:00:00:01", "vlan-mode": "access", "tag": 10, "link": "up",
               "rx-queues": 1, "tx-queues": 1, "pmds": [1]},
              {"name": "bravo", "id": 1, "device": "net_ring3", "driver": "net_ring", "mac": "02:00:00:00:00:02",
               "vlan-mode": "trunk", "trunks": [10, 20], "native-vlan": 30, "link": "up",
               "rx-queues": 1, "tx-queues": 1, "pmds": [1]},
              {"name": "charlie", "id": 2, "device": "net_ring5", "driver": "net_ring", "mac": "02:00:00:00:00:03",
               "vlan-mode": "all", "link": "down", "rx-queues": 1, "tx-queues": 1, "pmds": [1]}]}],
             "pmd": {"mode": "pipeline", "cores": [1], "idle": "yield"}}
            """;

    /** Port counters: alpha rx, bravo rx, charlie tx, drops of alpha, then packets of the poller. */
    static String stats(long a, long b, long c, long vlan, long tableFull) {
        return """
                {"ports": [
                  {"bridge": "br0", "port": "alpha", "rx-packets": %d, "rx-bytes": %d, "tx-packets": 0,
                   "tx-bytes": 0, "floods": 0, "drops": {"no_buffer": 0, "vlan": %d, "table_full": %d}},
                  {"bridge": "br0", "port": "bravo", "rx-packets": %d, "rx-bytes": %d, "tx-packets": 0,
                   "tx-bytes": 0, "floods": 0, "drops": {"no_buffer": 0, "vlan": 0, "table_full": 0}},
                  {"bridge": "br0", "port": "charlie", "rx-packets": 0, "rx-bytes": 0, "tx-packets": %d,
                   "tx-bytes": %d, "floods": 0, "drops": {"no_buffer": 0, "vlan": 0, "table_full": 0}}],
                 "bridges": [{"bridge": "br0", "learned": 3, "moved": 1, "aged": 0, "table-full": %d,
                   "floods": 0}]}
                """.formatted(a, a * 100, vlan, tableFull, b, b * 64, c, c * 100, tableFull);
    }

    static String pmd(long packets, double nsPerPacket, long backlog) {
        return """
                {"pmds": [
                  {"pmd": "pmd-1", "core": 1, "role": "poller", "rxqs": ["alpha/0", "bravo/0", "charlie/0"],
                   "iterations": %d, "busy-iterations": 10, "packets": %d, "busy-ratio": 0.5,
                   "busy-ns-per-packet": %s, "busy-cycles-per-packet": 0, "max-iteration-ns": 5000,
                   "iterations-over250us": 0, "tsc-ghz": 2.0},
                  {"pmd": "pmd-classify", "core": 1, "role": "classify", "rxqs": [], "iterations": 5,
                   "busy-iterations": 1, "packets": 0, "busy-ratio": 0, "busy-ns-per-packet": 0,
                   "busy-cycles-per-packet": 0, "max-iteration-ns": 0, "iterations-over250us": 0,
                   "tsc-ghz": 2.0, "ring-backlog": %d, "ring-size": 256}]}
                """.formatted(packets * 2 + 10, packets, nsPerPacket, backlog);
    }

    static Sample sample(String show, String stats, String pmd, double seconds) throws Exception {
        long t = (long) (seconds * 1e9);
        return Sample.parse(
                Json.MAPPER.readTree(show), Json.MAPPER.readTree(stats), Json.MAPPER.readTree(pmd), t, t + 1000);
    }

    /** Two samples 2 s apart: alpha 1000 -> 3000 rx, bravo 0 -> 10000, charlie tx 0 -> 12000. */
    static View twoSamples() throws Exception {
        Sample a = sample(SHOW, stats(1000, 0, 0, 10, 0), pmd(1000, 100.0, 0), 10.0);
        Sample b = sample(SHOW, stats(3000, 10000, 12000, 410, 7), pmd(13000, 150.0, 64), 12.0);
        return TopModel.compute(a, b);
    }

    static PortRow port(View v, String name) {
        return v.ports().stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void ratesAreCounterDeltasOverTheTimeBetweenSamples() throws Exception {
        View v = twoSamples();
        assertEquals(2.0, v.seconds(), 1e-9);
        PortRow alpha = port(v, "alpha");
        assertEquals(1000.0, alpha.rxPackets().perSecond(), 1e-9);
        assertEquals(3000, alpha.rxPackets().total());
        assertEquals(100_000.0, alpha.rxBytes().perSecond(), 1e-9); // 100 bytes a frame
        assertEquals(200.0, alpha.dropsByReason().get("vlan").perSecond(), 1e-9);
        assertEquals(3.5, alpha.dropsByReason().get("table_full").perSecond(), 1e-9);
        assertEquals(0.0, alpha.dropsByReason().get("no_buffer").perSecond());
        // table_full frames were flooded, not lost: not in the drops total
        assertEquals(410, alpha.drops().total());
        assertEquals(200.0, alpha.drops().perSecond(), 1e-9);
        assertEquals(5000.0, port(v, "bravo").rxPackets().perSecond(), 1e-9);
        assertEquals(6000.0, port(v, "charlie").txPackets().perSecond(), 1e-9);
        assertEquals(600_000.0, port(v, "charlie").txBytes().perSecond(), 1e-9);
        assertEquals("access, tag 10", alpha.now().info().vlan());
        assertEquals("trunk 10,20, native 30", port(v, "bravo").now().info().vlan());

        PmdRow poller = v.pmds().get(0);
        // busy ns: 1000 * 100 = 100 us, then 13000 * 150 = 1950 us: 1850 us busy in 2 s
        assertEquals(1850e3 / 2e9, poller.busyShare(), 1e-12);
        assertEquals(1850e3 / 12000 * 2.0, poller.cyclesPerPacket(), 1e-9);
        assertEquals(6000.0, poller.pps(), 1e-9);
        PmdRow stage = v.pmds().get(1);
        assertEquals(64L, stage.now().ringBacklog());
        assertEquals(256, stage.now().ringSize());
        assertTrue(Double.isNaN(stage.cyclesPerPacket()), "no packets, no cycles per packet");
        assertNull(poller.now().ringBacklog());

        TopModel.BridgeRow br = v.now().bridges().getFirst();
        assertEquals(new TopModel.BridgeRow("br0", 3, 8192, 3, 1, 0, 7), br);
    }

    @Test
    void noRateWithoutAnEarlierSampleOrWhenCountersWentBack() throws Exception {
        Sample a = sample(SHOW, stats(5000, 10, 10, 10, 0), pmd(1000, 100.0, 0), 1.0);
        View first = TopModel.compute(null, a);
        assertTrue(Double.isNaN(port(first, "alpha").rxPackets().perSecond()));
        assertEquals(5000, port(first, "alpha").rxPackets().total());
        assertTrue(Double.isNaN(first.pmds().getFirst().busyShare()));
        assertTrue(Double.isNaN(first.seconds()));
        // alpha deleted and added again (its counters restart), the pmd stats cleared
        Sample b = sample(SHOW, stats(100, 20, 20, 0, 0), pmd(10, 100.0, 0), 2.0);
        View v = TopModel.compute(a, b);
        assertTrue(Double.isNaN(port(v, "alpha").rxPackets().perSecond()));
        assertTrue(Double.isNaN(port(v, "alpha").dropsByReason().get("vlan").perSecond()));
        assertEquals(10.0, port(v, "bravo").rxPackets().perSecond(), 1e-9);
        assertTrue(Double.isNaN(v.pmds().getFirst().busyShare()));
        // a port the earlier sample did not have
        Sample c = sample(SHOW, stats(200, 30, 30, 0, 0).replace("\"charlie\"", "\"delta\""), pmd(20, 1, 0), 3.0);
        View w = TopModel.compute(b, c);
        assertTrue(Double.isNaN(port(w, "delta").txPackets().perSecond()));
        assertNull(port(w, "delta").now().info(), "show does not list delta");
    }

    @Test
    void eachSortKeyOrdersThePorts() throws Exception {
        View v = twoSamples();
        assertEquals(List.of("alpha", "bravo", "charlie"), names(v, SortKey.NAME));
        assertEquals(List.of("bravo", "alpha", "charlie"), names(v, SortKey.RX_PPS));
        assertEquals(List.of("charlie", "alpha", "bravo"), names(v, SortKey.TX_PPS));
        // bravo 320 kB/s in 64-byte frames, alpha 100 kB/s in 100-byte frames
        assertEquals(List.of("bravo", "alpha", "charlie"), names(v, SortKey.RX_BPS));
        assertEquals(List.of("charlie", "alpha", "bravo"), names(v, SortKey.TX_BPS));
        assertEquals(List.of("alpha", "bravo", "charlie"), names(v, SortKey.DROPS));
        // unknown rates sort last
        Sample only = sample(SHOW, stats(1, 2, 3, 0, 0), pmd(1, 1, 0), 1);
        assertEquals(List.of("alpha", "bravo", "charlie"), names(TopModel.compute(null, only), SortKey.TX_PPS));
        assertEquals(SortKey.RX_PPS, SortKey.of("rx-pps"));
        assertNull(SortKey.of("cpu"));
        assertEquals(SortKey.NAME, SortKey.DROPS.next());
    }

    static List<String> names(View v, SortKey k) {
        return TopModel.sorted(v.ports(), k).stream().map(PortRow::name).toList();
    }

    @Test
    void keysMoveTheSelectionAndItFollowsThePort() throws Exception {
        View v = twoSamples();
        TopState st = new TopState(SortKey.NAME);
        List<PortRow> rows = TopModel.sorted(v.ports(), st.sort);
        assertEquals(0, st.index(rows), "the first row is selected at first");
        st.apply(Op.UP, rows, 10);
        assertEquals("alpha", st.selected, "Up on the first row stays there");
        st.apply(Op.DOWN, rows, 10);
        st.apply(Op.DOWN, rows, 10);
        st.apply(Op.DOWN, rows, 10);
        assertEquals("charlie", st.selected, "Down on the last row stays there");
        st.apply(Op.SORT_TX_PPS, rows, 10);
        rows = TopModel.sorted(v.ports(), st.sort);
        assertEquals(0, st.index(rows), "charlie sends most: first by tx-pps, still selected");
        st.apply(Op.LAST, rows, 10);
        assertEquals("bravo", st.selected);
        st.apply(Op.PAGE_UP, rows, 10);
        assertEquals("charlie", st.selected);
        st.apply(Op.DETAIL, rows, 10);
        assertTrue(st.detail);
        st.apply(Op.BACK, rows, 10);
        assertFalse(st.detail);
        st.apply(Op.NEXT_SORT, rows, 10);
        assertEquals(SortKey.RX_BPS, st.sort);
        assertFalse(st.quit);
        st.apply(Op.QUIT, rows, 10);
        assertTrue(st.quit);
        TopState empty = new TopState(SortKey.NAME);
        empty.apply(Op.DETAIL, List.of(), 10);
        assertFalse(empty.detail, "no port, no detail");
    }

    @Test
    void theScreenFitsTheTerminalAndMarksTheSelection() throws Exception {
        View v = twoSamples();
        TopState st = new TopState(SortKey.RX_PPS);
        st.selected = "alpha";
        List<String> s = text(TopRender.screen(v, st, frame(40, 120)));
        assertEquals(40, s.size(), String.join("\n", s));
        assertTrue(
                s.getFirst().startsWith("panda top  /x.ctl  pmd pipeline, cores 1  every 1 s  sort rx-pps"),
                s.getFirst());
        assertTrue(s.getFirst().endsWith("12:00:00"), s.getFirst());
        assertTrue(
                s.get(1)
                        .matches(
                                "  PORT\\s+BRIDGE\\s+LINK\\s+RX-PPS\\s+RX-BPS\\s+TX-PPS\\s+TX-BPS\\s+DROP/S\\s+DROPS\\s+FLOOD/S\\s*"),
                s.get(1));
        assertTrue(s.get(2).matches("  bravo\\s+br0\\s+up\\s+5.00k\\s+2.56M\\s+0\\s+0\\s+0\\s+0\\s+0\\s*"), s.get(2));
        assertTrue(
                s.get(3).matches("> alpha\\s+br0\\s+up\\s+1.00k\\s+800k\\s+0\\s+0\\s+200\\s+410\\s+0\\s*"), s.get(3));
        assertTrue(s.get(4).startsWith("  charlie  br0     down"), s.get(4));
        assertTrue(
                s.stream()
                        .anyMatch(l -> l.matches(
                                "  pmd-1\\s+1\\s+poller\\s+0.1%\\s+308\\s+6.00k\\s+-\\s+alpha/0 bravo/0 charlie/0")),
                String.join("\n", s));
        assertTrue(
                s.stream()
                        .anyMatch(
                                l -> l.matches("  pmd-classify\\s+1\\s+classify\\s+0.0%\\s+-\\s+0\\s+64/256 25%\\s+-")),
                String.join("\n", s));
        assertTrue(
                s.stream().anyMatch(l -> l.matches("  br0\\s+3\\s+8192\\s+0%\\s+3\\s+1\\s+0\\s+7")),
                String.join("\n", s));
        assertEquals(TopRender.HELP, s.getLast().strip());
        for (String l : s) {
            assertTrue(l.length() <= 120, l);
        }

        // a short, narrow terminal: the selected row stays in sight, lines are cut
        st.selected = "charlie";
        List<String> small = text(TopRender.screen(v, st, frame(12, 50)));
        assertEquals(12, small.size());
        assertTrue(small.stream().anyMatch(l -> l.startsWith("> charlie")), String.join("\n", small));
        for (String l : small) {
            assertTrue(l.length() <= 50, l);
        }
        List<String> tiny = text(TopRender.screen(v, st, frame(2, 20)));
        assertEquals(2, tiny.size());
    }

    @Test
    void manyPortsScrollWithTheSelection() throws Exception {
        StringBuilder ports = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            ports.append(i == 0 ? "" : ",")
                    .append("{\"bridge\": \"br0\", \"port\": \"p%02d\", \"rx-packets\": %d}".formatted(i, i));
        }
        Sample a = sample(SHOW, "{\"ports\": [" + ports + "]}", pmd(1, 1, 0), 1);
        View v = TopModel.compute(null, a);
        TopState st = new TopState(SortKey.NAME);
        List<String> s = text(TopRender.screen(v, st, frame(20, 100)));
        assertTrue(s.get(1).endsWith("(1-11 of 30)"), s.get(1));
        assertTrue(s.get(2).startsWith("> p00"), s.get(2));
        st.selected = "p25";
        s = text(TopRender.screen(v, st, frame(20, 100)));
        assertTrue(s.get(1).endsWith("(16-26 of 30)"), s.get(1));
        assertTrue(s.get(12).startsWith("> p25"), String.join("\n", s));
        assertTrue(s.stream().anyMatch(l -> l.startsWith("  PMD")), "the pollers still show");
    }

    @Test
    void detailShowsThePortAndItsDropsByReason() throws Exception {
        View v = twoSamples();
        TopState st = new TopState(SortKey.NAME);
        st.selected = "alpha";
        st.detail = true;
        List<String> s = text(TopRender.screen(v, st, frame(40, 100)));
        String all = String.join("\n", s);
        assertEquals("Port alpha on bridge br0", s.get(1).strip(), all);
        assertTrue(all.contains("  device   net_ring1,peer=net_ring0"), all);
        assertTrue(all.contains("  vlan     access, tag 10"), all);
        assertTrue(all.contains("  polled by pmd-1 (core 1, alpha/0): busy 0.1%"), all);
        assertTrue(s.stream().anyMatch(l -> l.matches("  rx packets\\s+1.00k\\s+3000")), all);
        assertTrue(s.stream().anyMatch(l -> l.matches("  DROPS BY REASON\\s+PER-S\\s+TOTAL")), all);
        assertTrue(s.stream().anyMatch(l -> l.matches("  vlan\\s+200\\s+410")), all);
        assertTrue(s.stream().anyMatch(l -> l.matches("  no_buffer\\s+0\\s+0")), all);
        assertTrue(
                s.stream().anyMatch(l -> l.matches("  table_full\\s+3.5\\s+7   \\(flooded: FDB full; not lost\\)")),
                all);
        assertEquals(TopRender.HELP_DETAIL, s.getLast().strip());
    }

    @Test
    void onceIsOneTablePerKind() throws Exception {
        String out = TopRender.once(twoSamples(), SortKey.RX_PPS, "/x.ctl");
        List<String> lines = out.lines().toList();
        assertEquals(
                "# panda top --once: 2.000 s between samples, socket /x.ctl, pmd mode pipeline, sort rx-pps",
                lines.getFirst());
        List<List<String>> ports = rows(out, "port");
        assertEquals(
                List.of("bravo", "alpha", "charlie"),
                ports.stream().map(r -> r.get(1)).toList());
        assertEquals(
                List.of(
                        "port",
                        "alpha",
                        "br0",
                        "up",
                        "1000.0",
                        "800000.0",
                        "0.0",
                        "0.0",
                        "200.0",
                        "410",
                        "0.0",
                        "3000",
                        "0",
                        "300000",
                        "0"),
                ports.get(1));
        assertEquals(
                List.of("drop", "alpha", "vlan", "200.0", "410"),
                rows(out, "drop").stream()
                        .filter(r -> r.get(1).equals("alpha") && r.get(2).equals("vlan"))
                        .findFirst()
                        .orElseThrow());
        assertEquals(9, rows(out, "drop").size(), "every reason of every port");
        assertEquals(
                List.of("pmd", "pmd-classify", "1", "classify", "0.000", "-", "0.0", "0", "64", "256"),
                rows(out, "pmd").get(1));
        assertEquals("0.093", rows(out, "pmd").get(0).get(4), "busy percent with three decimals");
        assertEquals(
                List.of("bridge", "br0", "3", "8192", "3", "1", "0", "7"),
                rows(out, "bridge").getFirst());
        assertTrue(lines.contains(
                lines.stream().filter(l -> l.startsWith("#port ")).findFirst().orElseThrow()));
        String header =
                lines.stream().filter(l -> l.startsWith("#port ")).findFirst().orElseThrow();
        assertEquals(
                List.of(
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
                        "TX-BYTES"),
                List.of(header.split("\\s+")));
    }

    /** The rows of one kind of a {@code --once} output, split into words. */
    static List<List<String>> rows(String once, String kind) {
        return once.lines()
                .map(l -> List.of(l.split("\\s+")))
                .filter(w -> w.getFirst().equals(kind))
                .toList();
    }

    @Test
    void numbersInFiveCharacters() {
        assertEquals("-", TopRender.si(Double.NaN));
        assertEquals("0", TopRender.si(0));
        assertEquals("3.5", TopRender.si(3.5));
        assertEquals("999", TopRender.si(999));
        assertEquals("1.00k", TopRender.si(999.5));
        assertEquals("2.98k", TopRender.si(2980));
        assertEquals("12.3k", TopRender.si(12_345));
        assertEquals("256k", TopRender.si(256_000));
        assertEquals("4.10M", TopRender.si(4_100_000));
        assertEquals("10.0G", TopRender.si(1e10));
    }

    @Test
    void answersTopCannotReadAreRefused() throws Exception {
        assertThrows(TopModel.MalformedException.class, () -> sample("[]", stats(1, 1, 1, 0, 0), pmd(1, 1, 0), 1));
        assertThrows(TopModel.MalformedException.class, () -> sample(SHOW, "{\"ports\": 5}", pmd(1, 1, 0), 1));
        // missing fields read as zero, strings that could drive the terminal are defused
        Sample s = sample(
                "{}",
                "{\"ports\": [{\"port\": \"ev\\u001b[2Jil one\", \"drops\": {\"x\\u0007\": 3}}]}",
                "{\"pmds\": [{}]}",
                1);
        assertEquals("ev?[2Jil_one", s.ports().getFirst().name());
        assertEquals(3L, s.ports().getFirst().drops().get("x?"));
        assertNotNull(TopRender.screen(TopModel.compute(null, s), new TopState(SortKey.NAME), frame(10, 80)));
    }

    static TopRender.Frame frame(int rows, int cols) {
        return new TopRender.Frame("/x.ctl", 1, "12:00:00", null, rows, cols);
    }

    static List<String> text(List<AttributedString> lines) {
        return lines.stream().map(AttributedString::toString).toList();
    }
}
