package dev.panda.vswitch.metrics;

import dev.panda.vswitch.Control;
import dev.panda.vswitch.Views;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The vswitch's own metrics, read at scrape time: each scrape makes three {@link Control} calls
 * ({@code stats(null)}, {@code show()}, {@code pmdStats()}) on the scraping thread and turns the
 * answers into Prometheus snapshots. The data path keeps its counters as it always does (plain
 * per-thread fields summed at read time); nothing here runs on a poller or a pipeline stage.
 */
final class VswitchCollector implements MultiCollector {

    private final Control control;

    VswitchCollector(Control control) {
        this.control = control;
    }

    /** Names as exposed (counters get {@code _total}); the README lists the same. */
    static final List<String> NAMES = List.of(
            "panda_port_rx_packets_total",
            "panda_port_tx_packets_total",
            "panda_port_rx_bytes_total",
            "panda_port_tx_bytes_total",
            "panda_port_floods_total",
            "panda_port_drops_total",
            "panda_port_link_up",
            "panda_fdb_entries",
            "panda_fdb_max_entries",
            "panda_fdb_learned_total",
            "panda_fdb_moved_total",
            "panda_fdb_aged_total",
            "panda_fdb_table_full_total",
            "panda_pmd_info",
            "panda_pmd_iterations_total",
            "panda_pmd_busy_iterations_total",
            "panda_pmd_packets_total",
            "panda_pmd_busy_seconds_total",
            "panda_pmd_busy_ratio",
            "panda_pmd_busy_cycles_per_packet",
            "panda_pmd_max_iteration_seconds",
            "panda_pmd_long_iterations_total",
            "panda_pipeline_ring_backlog",
            "panda_pipeline_ring_size",
            "panda_flow_cache_hits_total",
            "panda_flow_cache_misses_total",
            "panda_flow_table_active",
            "panda_flow_table_lookups_total",
            "panda_flow_table_matched_total",
            "panda_openflow_events_total",
            "panda_openflow_packet_ins_total",
            "panda_openflow_flow_removed_total");

    @Override
    public MetricSnapshots collect() {
        Views.Stats stats = control.stats(null);
        Views.Show show = control.show();
        List<Views.PmdStatsView> pmds = control.pmdStats();
        List<MetricSnapshot> out = new ArrayList<>();
        ports(stats.ports(), out);
        links(show, out);
        bridges(show, stats.bridges(), out);
        pmds(pmds, out);
        captures(control.captures(), out);
        flows(pmds, control.flowTables(), out);
        packetIns(control.packetIns(), out);
        openflow(control.openflowCounters(), out);
        return new MetricSnapshots(out);
    }

    /** Capture families, present while a capture runs (labels {@code capture}, {@code port}). */
    static final List<String> CAPTURE_NAMES =
            List.of("panda_capture_matched_total", "panda_capture_captured_total", "panda_capture_dropped_total");

    private static void captures(List<dev.panda.vswitch.capture.CaptureView> cs, List<MetricSnapshot> out) {
        if (cs.isEmpty()) {
            return;
        }
        CounterSnapshot.Builder matched = CounterSnapshot.builder()
                .name("panda_capture_matched")
                .help("Frames of the capture's port and direction that passed its filter");
        CounterSnapshot.Builder captured = CounterSnapshot.builder()
                .name("panda_capture_captured")
                .help("Frames the capture appended to its queue");
        CounterSnapshot.Builder dropped = CounterSnapshot.builder()
                .name("panda_capture_dropped")
                .help("Matching frames the capture dropped because its writer was behind (the switch forwarded them)");
        for (var c : cs) {
            Labels l = Labels.of("capture", c.name(), "port", c.port());
            matched.dataPoint(CounterDataPointSnapshot.builder()
                    .labels(l)
                    .value(c.matched())
                    .build());
            captured.dataPoint(CounterDataPointSnapshot.builder()
                    .labels(l)
                    .value(c.captured())
                    .build());
            dropped.dataPoint(CounterDataPointSnapshot.builder()
                    .labels(l)
                    .value(c.dropped())
                    .build());
        }
        out.add(matched.build());
        out.add(captured.build());
        out.add(dropped.build());
    }

    private static void ports(List<Views.PortStatsView> ports, List<MetricSnapshot> out) {
        out.add(portCounter("panda_port_rx_packets", "Packets received on the port", null, ports, p -> p.rxPackets()));
        out.add(portCounter("panda_port_tx_packets", "Packets sent on the port", null, ports, p -> p.txPackets()));
        out.add(portCounter("panda_port_rx_bytes", "Bytes received on the port", Unit.BYTES, ports, p -> p.rxBytes()));
        out.add(portCounter("panda_port_tx_bytes", "Bytes sent on the port", Unit.BYTES, ports, p -> p.txBytes()));
        out.add(portCounter(
                "panda_port_floods",
                "Frames received on the port that were flooded (broadcast, multicast, unknown unicast)",
                null,
                ports,
                p -> p.floods()));
        CounterSnapshot.Builder drops = CounterSnapshot.builder()
                .name("panda_port_drops")
                .help("Frames dropped on the port, by reason (table_full counts frames flooded because the FDB was"
                        + " full: counted, not lost)");
        for (Views.PortStatsView p : ports) {
            for (Map.Entry<String, Long> d : p.drops().entrySet()) {
                drops.dataPoint(CounterDataPointSnapshot.builder()
                        .labels(Labels.of("bridge", p.bridge(), "port", p.port(), "reason", d.getKey()))
                        .value(d.getValue())
                        .build());
            }
        }
        out.add(drops.build());
    }

    /** The OpenFlow channels' counters (connections, messages, decode errors), one label per event. */
    private static void openflow(Map<String, Long> counters, List<MetricSnapshot> out) {
        CounterSnapshot.Builder b = CounterSnapshot.builder()
                .name("panda_openflow_events")
                .help("OpenFlow channel events: connections accepted and made, messages in, decode errors,"
                        + " refused messages, failed hellos, probe timeouts, flow mods, packet-ins and -outs");
        for (Map.Entry<String, Long> e : counters.entrySet()) {
            b.dataPoint(CounterDataPointSnapshot.builder()
                    .labels(Labels.of("event", e.getKey()))
                    .value(e.getValue())
                    .build());
        }
        out.add(b.build());
    }

    private static CounterSnapshot portCounter(
            String name,
            String help,
            Unit unit,
            List<Views.PortStatsView> ports,
            ToDoubleFunction<Views.PortStatsView> f) {
        CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
        if (unit != null) {
            b.unit(unit);
        }
        for (Views.PortStatsView p : ports) {
            b.dataPoint(CounterDataPointSnapshot.builder()
                    .labels(Labels.of("bridge", p.bridge(), "port", p.port()))
                    .value(f.applyAsDouble(p))
                    .build());
        }
        return b.build();
    }

    private static void links(Views.Show show, List<MetricSnapshot> out) {
        GaugeSnapshot.Builder link =
                GaugeSnapshot.builder().name("panda_port_link_up").help("1 if the port's link is up, 0 if it is down");
        for (Views.BridgeView b : show.bridges()) {
            for (Views.PortView p : b.ports()) {
                link.dataPoint(gauge(Labels.of("bridge", b.name(), "port", p.name()), "up".equals(p.link()) ? 1 : 0));
            }
        }
        out.add(link.build());
    }

    private static void bridges(Views.Show show, List<Views.BridgeStatsView> stats, List<MetricSnapshot> out) {
        GaugeSnapshot.Builder entries =
                GaugeSnapshot.builder().name("panda_fdb_entries").help("MAC addresses in the bridge's FDB");
        GaugeSnapshot.Builder max = GaugeSnapshot.builder()
                .name("panda_fdb_max_entries")
                .help("Most FDB entries the bridge holds (mac-table-size)");
        for (Views.BridgeView b : show.bridges()) {
            entries.dataPoint(gauge(Labels.of("bridge", b.name()), b.fdbEntries()));
            max.dataPoint(gauge(Labels.of("bridge", b.name()), b.macTableSize()));
        }
        out.add(entries.build());
        out.add(max.build());
        out.add(bridgeCounter("panda_fdb_learned", "MAC addresses learned", stats, s -> s.learned()));
        out.add(bridgeCounter("panda_fdb_moved", "MAC addresses seen on another port", stats, s -> s.moved()));
        out.add(bridgeCounter("panda_fdb_aged", "FDB entries removed by aging", stats, s -> s.aged()));
        out.add(bridgeCounter(
                "panda_fdb_table_full",
                "Addresses not learned because the FDB was full (the frame was flooded)",
                stats,
                s -> s.tableFull()));
    }

    private static CounterSnapshot bridgeCounter(
            String name, String help, List<Views.BridgeStatsView> stats, ToDoubleFunction<Views.BridgeStatsView> f) {
        CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
        for (Views.BridgeStatsView s : stats) {
            b.dataPoint(CounterDataPointSnapshot.builder()
                    .labels(Labels.of("bridge", s.bridge()))
                    .value(f.applyAsDouble(s))
                    .build());
        }
        return b.build();
    }

    private static void pmds(List<Views.PmdStatsView> pmds, List<MetricSnapshot> out) {
        GaugeSnapshot.Builder info = GaugeSnapshot.builder()
                .name("panda_pmd_info")
                .help("Always 1: each poller and pipeline stage with its CPU and role (rtc, poller, classify, tx)");
        for (Views.PmdStatsView s : pmds) {
            info.dataPoint(gauge(Labels.of("pmd", s.pmd(), "core", String.valueOf(s.core()), "role", s.role()), 1));
        }
        out.add(info.build());
        out.add(pmdCounter(
                "panda_pmd_iterations", "Passes of the poll loop (since pmd-stats-clear)", pmds, s -> s.iterations()));
        out.add(pmdCounter(
                "panda_pmd_busy_iterations",
                "Passes that moved packets (since pmd-stats-clear)",
                pmds,
                s -> s.busyIterations()));
        out.add(pmdCounter("panda_pmd_packets", "Packets handled (since pmd-stats-clear)", pmds, s -> s.packets()));
        out.add(pmdCounter(
                "panda_pmd_busy_seconds",
                "Time spent in passes that moved packets (since pmd-stats-clear)",
                pmds,
                s -> s.busyNsPerPacket() * s.packets() / 1e9));
        out.add(pmdGauge(
                "panda_pmd_busy_ratio",
                "Share of time spent in passes that moved packets (since pmd-stats-clear), 0..1",
                Unit.RATIO,
                pmds,
                s -> s.busyRatio()));
        out.add(pmdGauge(
                "panda_pmd_busy_cycles_per_packet",
                "TSC cycles of busy passes per packet (since pmd-stats-clear)",
                null,
                pmds,
                s -> s.busyCyclesPerPacket()));
        out.add(pmdGauge(
                "panda_pmd_max_iteration_seconds",
                "The longest pass (since pmd-stats-clear)",
                Unit.SECONDS,
                pmds,
                s -> s.maxIterationNs() / 1e9));
        out.add(pmdCounter(
                "panda_pmd_long_iterations",
                "Passes longer than 250 microseconds (since pmd-stats-clear)",
                pmds,
                s -> s.iterationsOver250us()));
        Map<String, Views.PmdStatsView> stages = new LinkedHashMap<>();
        for (Views.PmdStatsView s : pmds) {
            if (s.ringBacklog() != null) {
                stages.put(s.pmd(), s);
            }
        }
        GaugeSnapshot.Builder backlog = GaugeSnapshot.builder()
                .name("panda_pipeline_ring_backlog")
                .help("Bursts waiting in the pipeline ring for the stage");
        GaugeSnapshot.Builder size =
                GaugeSnapshot.builder().name("panda_pipeline_ring_size").help("The pipeline ring's size in bursts");
        for (Views.PmdStatsView s : stages.values()) {
            backlog.dataPoint(gauge(Labels.of("stage", s.pmd()), s.ringBacklog()));
            size.dataPoint(gauge(Labels.of("stage", s.pmd()), s.ringSize() == null ? 0 : s.ringSize()));
        }
        out.add(backlog.build());
        out.add(size.build());
    }

    /** The OpenFlow tables: each thread's exact-match cache, each table's flows and lookups. */
    private static void flows(
            List<Views.PmdStatsView> pmds, List<Views.FlowTableView> tables, List<MetricSnapshot> out) {
        List<Views.PmdStatsView> withCache =
                pmds.stream().filter(s -> s.flowCacheHits() != null).toList();
        out.add(pmdCounter(
                "panda_flow_cache_hits",
                "Flow-table lookups answered by the thread's exact-match cache",
                withCache,
                s -> s.flowCacheHits()));
        out.add(pmdCounter(
                "panda_flow_cache_misses",
                "Flow-table lookups that went to the classifier (tuple space search)",
                withCache,
                s -> s.flowCacheMisses()));
        GaugeSnapshot.Builder active =
                GaugeSnapshot.builder().name("panda_flow_table_active").help("Flows in the OpenFlow table");
        CounterSnapshot.Builder lookups = CounterSnapshot.builder()
                .name("panda_flow_table_lookups")
                .help("Packets looked up in the OpenFlow table");
        CounterSnapshot.Builder matched = CounterSnapshot.builder()
                .name("panda_flow_table_matched")
                .help("Packets that matched a flow of the OpenFlow table");
        for (Views.FlowTableView t : tables) {
            Labels l = Labels.of("bridge", t.bridge(), "table", String.valueOf(t.table()));
            active.dataPoint(gauge(l, t.active()));
            lookups.dataPoint(CounterDataPointSnapshot.builder()
                    .labels(l)
                    .value(t.lookups())
                    .build());
            matched.dataPoint(CounterDataPointSnapshot.builder()
                    .labels(l)
                    .value(t.matched())
                    .build());
        }
        out.add(active.build());
        out.add(lookups.build());
        out.add(matched.build());
    }

    /**
     * Each bridge's asynchronous OpenFlow messages by outcome. PACKET_INs: queued for the channel,
     * dropped (ring full), no controller. FLOW_REMOVEDs: queued, dropped (queue full).
     */
    private static void packetIns(List<Views.PacketInView> bridges, List<MetricSnapshot> out) {
        out.add(byOutcome(
                "panda_openflow_packet_ins",
                "Outputs to CONTROLLER: queued for the OpenFlow channel, dropped because the bridge's"
                        + " ring of 256 was full, or not queued because no controller was connected",
                bridges,
                List.of("queued", "dropped", "no_controller"),
                List.of(Views.PacketInView::queued, Views.PacketInView::dropped, Views.PacketInView::noController)));
        out.add(byOutcome(
                "panda_openflow_flow_removed",
                "FLOW_REMOVED messages (flows flagged send_flow_rem that expired or were deleted):"
                        + " queued for the OpenFlow channel, or dropped because its queue of 4096 was full",
                bridges,
                List.of("queued", "dropped"),
                List.of(Views.PacketInView::flowRemovedQueued, Views.PacketInView::flowRemovedDropped)));
    }

    /** A counter family with one data point per bridge and outcome, in the order given. */
    private static CounterSnapshot byOutcome(
            String name,
            String help,
            List<Views.PacketInView> bridges,
            List<String> outcomes,
            List<java.util.function.ToLongFunction<Views.PacketInView>> values) {
        CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
        for (Views.PacketInView v : bridges) {
            for (int i = 0; i < outcomes.size(); i++) {
                b.dataPoint(CounterDataPointSnapshot.builder()
                        .labels(Labels.of("bridge", v.bridge(), "outcome", outcomes.get(i)))
                        .value(values.get(i).applyAsLong(v))
                        .build());
            }
        }
        return b.build();
    }

    private static CounterSnapshot pmdCounter(
            String name, String help, List<Views.PmdStatsView> pmds, ToDoubleFunction<Views.PmdStatsView> f) {
        CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
        for (Views.PmdStatsView s : pmds) {
            b.dataPoint(CounterDataPointSnapshot.builder()
                    .labels(Labels.of("pmd", s.pmd()))
                    .value(f.applyAsDouble(s))
                    .build());
        }
        return b.build();
    }

    private static GaugeSnapshot pmdGauge(
            String name,
            String help,
            Unit unit,
            List<Views.PmdStatsView> pmds,
            ToDoubleFunction<Views.PmdStatsView> f) {
        GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
        if (unit != null) {
            b.unit(unit);
        }
        for (Views.PmdStatsView s : pmds) {
            b.dataPoint(gauge(Labels.of("pmd", s.pmd()), f.applyAsDouble(s)));
        }
        return b.build();
    }

    private static GaugeDataPointSnapshot gauge(Labels labels, double value) {
        return GaugeDataPointSnapshot.builder().labels(labels).value(value).build();
    }
}
