package dev.panda.perf;

import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.metrics.MetricsServer;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What a Prometheus scrape costs the data path: the vswitch loop of {@code vswitch-loop} (dpdk-testpmd
 * on CPU 0, panda's vswitch on CPU 1) run without a scraper (A) and with its metrics listener
 * scraped every {@code --interval} seconds over loopback (B), in interleaved rounds A, B, A again
 * (the A/A pair shows the spread). Each run's figure is the pmd's busy cycles per packet over the
 * window, as {@code pmd-stats} reports it; the medians and the median per-round ratios B/A and
 * A/A are printed.
 */
final class ScrapeCostComparison {

    /** One run: busy cycles per packet, loop Mpps, and (B) the scrapes made and their mean time. */
    record Result(double cycles, double mpps, long scrapes, double scrapeMs) {}

    private ScrapeCostComparison() {}

    static int run(String[] args, PrintStream out) throws Exception {
        int pairs = 7;
        int seconds = 10;
        int warmup = 3;
        double interval = 1;
        PmdConfig.Mode mode = PmdConfig.Mode.RTC;
        String idle = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pairs" -> pairs = RingIoComparison.positive(args, ++i);
                case "--seconds" -> seconds = RingIoComparison.positive(args, ++i);
                case "--warmup" -> warmup = RingIoComparison.positive(args, ++i);
                case "--interval" -> {
                    String v = value(args, ++i);
                    try {
                        interval = Double.parseDouble(v);
                    } catch (NumberFormatException e) {
                        interval = -1;
                    }
                    if (!(interval >= 0.05 && interval <= 60)) {
                        throw new IllegalArgumentException("--interval: seconds 0.05..60, got '" + v + "'");
                    }
                }
                case "--mode" -> mode = PmdConfig.Mode.parse(value(args, ++i));
                case "--idle" -> {
                    idle = value(args, ++i);
                    if (!List.of("spin", "yield", "park").contains(idle)) {
                        throw new IllegalArgumentException("--idle: spin, yield or park, got '" + idle + "'");
                    }
                }
                case "-h", "--help" -> {
                    out.println("usage: panda perf scrape-cost [--pairs N (7)] [--seconds S (10)] [--warmup S (3)]");
                    out.println("         [--interval S (1)] [--mode rtc|pipeline (rtc)] [--idle spin|yield|park]");
                    return 0;
                }
                default ->
                    throw new IllegalArgumentException("unknown scrape-cost option '" + args[i]
                            + "'; accepted --pairs N, --seconds S, --warmup S, --interval S, --mode M, --idle I");
            }
        }
        if (!DpdkProcess.available()) {
            throw new IllegalArgumentException(DpdkProcess.TESTPMD + " not found: run scripts/setup");
        }
        if (Runtime.getRuntime().availableProcessors() < 2) {
            throw new IllegalArgumentException("scrape-cost needs CPUs 0 and 1");
        }
        String switchIdle = idle != null ? idle : mode == PmdConfig.Mode.RTC ? "spin" : "yield";
        long intervalMs = Math.round(interval * 1000);
        out.printf(
                "scrape-cost: %d round(s) of A (no scraper), B (GET /metrics every %.2f s), A again (A/A);"
                        + " warm-up %d s, window %d s%n",
                pairs, interval, warmup, seconds);
        out.printf(
                "  the vswitch-loop set-up: dpdk-testpmd mac forwarding on CPU %d, panda vswitch %s (idle %s) on"
                        + " CPU %d; the metrics listener and the scraper on the other CPUs%n",
                LoopSwitches.TRAFFIC_CPU, mode.label(), switchIdle, LoopSwitches.SWITCH_CPU);

        List<Result> a = new ArrayList<>();
        List<Result> b = new ArrayList<>();
        List<Result> again = new ArrayList<>();
        Logger pandaLog = Logger.getLogger("dev.panda");
        Level level = pandaLog.getLevel();
        pandaLog.setLevel(Level.SEVERE);
        LoopRun loop = new LoopRun(warmup, seconds);
        PmdConfig.Mode m = mode;
        try {
            for (int r = 1; r <= pairs; r++) {
                String[] labels = {"A no scraper", "B scraped", "A again (A/A)"};
                for (int i = 0; i < 3; i++) {
                    Scraper[] scraper = {null};
                    LoopSwitches.Starter starter = i == 1
                            ? LoopSwitches.panda(
                                    m, switchIdle, (v, dir, cpus) -> scraper[0] = new Scraper(v, cpus, intervalMs))
                            : LoopSwitches.panda(m, switchIdle);
                    Result res;
                    try {
                        double[] x = loop.measure("panda-" + m.label() + (i == 1 ? "-scraped" : ""), starter);
                        Scraper s = scraper[0];
                        res = new Result(
                                x[1], x[0], s == null ? 0 : s.scrapes.get(), s == null ? Double.NaN : s.meanMillis());
                        if (s != null && s.failures.get() > 0) {
                            out.printf("  round %d  %d scrape(s) failed: %s%n", r, s.failures.get(), s.lastError);
                        }
                        out.printf(
                                "  round %d  %-15s busy %7.1f cycles/packet  %7.3f Mpps%s%n",
                                r,
                                labels[i],
                                res.cycles(),
                                res.mpps(),
                                s == null
                                        ? ""
                                        : String.format(
                                                "  (%d scrapes in the run, %.1f ms each on average)",
                                                res.scrapes(), res.scrapeMs()));
                    } catch (Exception e) {
                        res = new Result(Double.NaN, Double.NaN, 0, Double.NaN);
                        out.printf(
                                "  round %d  %-15s failed: %s%n",
                                r, labels[i], VswitchLoopComparison.tail(e.getMessage(), 20));
                    }
                    (i == 0 ? a : i == 1 ? b : again).add(res);
                }
            }
        } finally {
            loop.close();
            pandaLog.setLevel(level);
        }
        out.println();
        out.printf("medians over %d round(s):  busy cycles/packet   loop Mpps%n", pairs);
        out.printf("  %-24s %18.1f %11.3f%n", "A no scraper", median(a, true), median(a, false));
        out.printf("  %-24s %18.1f %11.3f%n", "B scraped every " + interval + " s", median(b, true), median(b, false));
        out.printf("  %-24s %18.1f %11.3f%n", "A again", median(again, true), median(again, false));
        out.println("median of the per-round ratios (busy cycles/packet):");
        ratio(out, "B/A (what scraping costs)", b, a);
        ratio(out, "A again/A (the spread)", again, a);
        return 0;
    }

    static void ratio(PrintStream out, String what, List<Result> x, List<Result> y) {
        List<Double> q = new ArrayList<>();
        for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
            double v = x.get(i).cycles() / y.get(i).cycles();
            if (Double.isFinite(v)) {
                q.add(v);
            }
        }
        if (q.isEmpty()) {
            out.printf("  %-28s n/a%n", what);
            return;
        }
        out.printf(
                "  %-28s %5.3f  (range %.3f..%.3f)%n",
                what,
                RingIoComparison.median(q),
                q.stream().mapToDouble(Double::doubleValue).min().orElseThrow(),
                q.stream().mapToDouble(Double::doubleValue).max().orElseThrow());
    }

    static double median(List<Result> rs, boolean cycles) {
        double[] v = rs.stream()
                .mapToDouble(r -> cycles ? r.cycles() : r.mpps())
                .filter(Double::isFinite)
                .toArray();
        return v.length == 0 ? Double.NaN : RingIoComparison.median(v);
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            throw new IllegalArgumentException("option " + args[i - 1] + " needs a value");
        }
        return args[i];
    }

    /**
     * The vswitch's metrics listener on 127.0.0.1 (a free port) and a thread that scrapes it every
     * {@code intervalMs} as Prometheus would (same Accept header), both off the pmd core.
     */
    static final class Scraper implements AutoCloseable {
        final AtomicLong scrapes = new AtomicLong();
        final AtomicLong failures = new AtomicLong();
        final AtomicLong nanos = new AtomicLong();
        volatile String lastError;
        private final MetricsServer server;
        private final Thread thread;
        private volatile boolean running = true;

        Scraper(Vswitch v, int[] cpus, long intervalMs) {
            server = MetricsServer.start(new InetSocketAddress("127.0.0.1", 0), v, cpus);
            URI uri = URI.create("http://127.0.0.1:" + server.address().getPort() + "/metrics");
            thread = Thread.ofPlatform()
                    .name("scrape-cost-scraper")
                    .daemon(true)
                    .start(() -> {
                        HttpClient http = HttpClient.newBuilder()
                                .connectTimeout(Duration.ofSeconds(5))
                                .build();
                        HttpRequest req = HttpRequest.newBuilder(uri)
                                .header(
                                        "Accept",
                                        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                                                + "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
                                .timeout(Duration.ofSeconds(10))
                                .build();
                        long next = System.nanoTime();
                        while (running) {
                            long t0 = System.nanoTime();
                            try {
                                HttpResponse<byte[]> r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
                                if (r.statusCode() != 200) {
                                    throw new IllegalStateException("status " + r.statusCode());
                                }
                                scrapes.incrementAndGet();
                                nanos.addAndGet(System.nanoTime() - t0);
                            } catch (Exception e) {
                                if (!running) {
                                    return;
                                }
                                failures.incrementAndGet();
                                lastError = String.valueOf(e);
                            }
                            next += intervalMs * 1_000_000;
                            long sleep = (next - System.nanoTime()) / 1_000_000;
                            if (sleep > 0) {
                                try {
                                    Thread.sleep(sleep);
                                } catch (InterruptedException e) {
                                    return;
                                }
                            }
                        }
                    });
        }

        double meanMillis() {
            long n = scrapes.get();
            return n == 0 ? Double.NaN : nanos.get() / 1e6 / n;
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.interrupt();
            thread.join(10_000);
            server.close();
        }
    }
}
