package dev.panda.vswitch.metrics;

import dev.panda.vswitch.Control;
import dev.panda.vswitch.control.ControlServer;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.ToLongFunction;

/**
 * What {@code GET /metrics} answers: a registry of its own (the vswitch's collector, the metrics
 * listener's request counts and the control API's counters) and the process's JVM metrics (the Prometheus Java client's
 * {@code JvmMetrics}), written in the format the {@code Accept} header picks: the Prometheus text
 * format 0.0.4 by default, OpenMetrics 1.0 when asked for {@code application/openmetrics-text}.
 */
public final class Exposition {

    /** What one scrape produced. */
    public record Scrape(String contentType, byte[] body) {}

    /**
     * JvmMetrics' deadlock gauges call ThreadMXBean.findDeadlockedThreads and
     * findMonitorDeadlockedThreads, each a safepoint (a VM operation that stops every Java thread,
     * the pollers too): left out, so a scrape never pauses the data path. The thread-state counts
     * (getThreadInfo without stack traces) and the rest need no safepoint.
     */
    static final Set<String> STOPS_THE_WORLD = Set.of("jvm_threads_deadlocked", "jvm_threads_deadlocked_monitor");

    /**
     * The JVM's metrics, one registry for the process: JvmMetrics remembers every registry it was
     * registered with (in a static set), so one per listener would keep each closed switch alive.
     */
    private static final PrometheusRegistry JVM = new PrometheusRegistry();

    static {
        JvmMetrics.builder().register(JVM);
    }

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final ExpositionFormats formats = ExpositionFormats.init();

    /**
     * @param control  the running vswitch, read at scrape time
     * @param requests the listener's answers by status, exposed as {@code panda_metrics_requests_total}
     */
    public Exposition(Control control, MetricsServer.Counters requests) {
        this(control, requests, null);
    }

    /**
     * @param controlApi the control server's counters, exposed as {@code panda_control_*} (null:
     *     none)
     */
    public Exposition(Control control, MetricsServer.Counters requests, ControlServer.Counters controlApi) {
        registry.register(new VswitchCollector(control));
        if (requests != null) {
            registry.register(requestsCollector(requests));
        }
        if (controlApi != null) {
            registry.register(controlCollector(controlApi));
        }
    }

    /** The control API's counters (both listeners together), one family each. */
    private static MultiCollector controlCollector(ControlServer.Counters c) {
        return () -> new MetricSnapshots(
                counter(
                        "panda_control_requests",
                        "Requests the control API answered",
                        c,
                        ControlServer.Counters::requests),
                counter(
                        "panda_control_errors",
                        "Control API answers with a 4xx or 5xx status",
                        c,
                        ControlServer.Counters::errors),
                counter(
                        "panda_control_unauthorized",
                        "Requests on the control TCP listener without the right bearer token (401)",
                        c,
                        ControlServer.Counters::unauthorized),
                counter(
                        "panda_control_timeouts",
                        "Control requests not received whole in time (408) and answers the client did not take",
                        c,
                        ControlServer.Counters::timeouts),
                counter(
                        "panda_control_refused_connections",
                        "Control connections closed at once because their listener had its most open",
                        c,
                        ControlServer.Counters::refusedConnections),
                counter(
                        "panda_control_exceptions",
                        "Unexpected exceptions in control connections' handlers (a bug if not zero)",
                        c,
                        ControlServer.Counters::exceptions),
                counter(
                        "panda_control_reads_held",
                        "Times a control connection's reads were held because its unanswered requests"
                                + " exceeded the byte budget",
                        c,
                        ControlServer.Counters::readsHeld));
    }

    private static <T> CounterSnapshot counter(String name, String help, T source, ToLongFunction<T> value) {
        return CounterSnapshot.builder()
                .name(name)
                .help(help)
                .dataPoint(CounterDataPointSnapshot.builder()
                        .value(value.applyAsLong(source))
                        .build())
                .build();
    }

    /** Collects everything now and writes it as {@code accept} asks (null: the text format). */
    public Scrape scrape(String accept) {
        ExpositionFormatWriter w = formats.findWriter(accept);
        if (!w.isAvailable()) { // protobuf asked for: not on the class path, answer text
            w = formats.getPrometheusTextFormatWriter();
        }
        List<MetricSnapshot> all = new ArrayList<>();
        registry.scrape().forEach(all::add);
        JVM.scrape(name -> !STOPS_THE_WORLD.contains(name)).forEach(all::add);
        MetricSnapshots snapshots = new MetricSnapshots(all);
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 * 1024);
        try {
            w.write(out, snapshots);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Scrape(w.getContentType(), out.toByteArray());
    }

    private static MultiCollector requestsCollector(MetricsServer.Counters counters) {
        return () -> {
            CounterSnapshot.Builder b = CounterSnapshot.builder()
                    .name("panda_metrics_requests")
                    .help("Requests the metrics listener answered, by HTTP status (this scrape not counted yet)");
            for (int i = 0; i < MetricsServer.Counters.STATUSES.length; i++) {
                b.dataPoint(CounterDataPointSnapshot.builder()
                        .labels(Labels.of("code", String.valueOf(MetricsServer.Counters.STATUSES[i])))
                        .value(counters.countAt(i))
                        .build());
            }
            return new MetricSnapshots(
                    b.build(),
                    counter(
                            "panda_metrics_timeouts",
                            "Metrics requests not received whole within the request timeout (answered 408)",
                            counters,
                            MetricsServer.Counters::timeouts),
                    counter(
                            "panda_metrics_refused_connections",
                            "Metrics connections closed at once because the listener had its most open",
                            counters,
                            MetricsServer.Counters::refusedConnections),
                    counter(
                            "panda_metrics_exceptions",
                            "Unexpected exceptions in metrics connections' handlers (a bug if not zero)",
                            counters,
                            MetricsServer.Counters::exceptions));
        };
    }
}
