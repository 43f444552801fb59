package dev.panda.perf;

import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdOptions;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * io forwarding between two net_ring ports on one forwarding lcore (pinned to the last CPU,
 * busy-spinning, one tx_first burst per stream in flight), panda against dpdk-testpmd doing the
 * same, interleaved (panda, dpdk, panda with byte counters, ...). DPDK's ring PMD counts no bytes,
 * so the compared panda run uses {@code count_bytes=0}; the third run shows what panda's byte
 * counters cost. The figure for each run is the median of its per-second forwarded rates (sum of
 * both ports' rx) after a warm-up second.
 */
final class RingIoComparison {

    private static final Pattern RX_PPS = Pattern.compile("Rx-pps:\\s+(\\d+)");
    private static final String DPDK = "/usr/bin/dpdk-testpmd";

    private RingIoComparison() {
    }

    static int run(String[] args, PrintStream out) throws Exception {
        int pairs = 3;
        int seconds = 5;
        int burst = 32;
        boolean dpdk = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pairs" -> pairs = positive(args, ++i);
                case "--seconds" -> seconds = positive(args, ++i);
                case "--burst" -> burst = positive(args, ++i);
                case "--no-dpdk" -> dpdk = false;
                case "-h", "--help" -> {
                    out.println("usage: panda perf ring-io [--pairs N (3)] [--seconds S (5)] [--burst N (32)] [--no-dpdk]");
                    return 0;
                }
                default -> throw new IllegalArgumentException("unknown ring-io option '" + args[i]
                        + "'; accepted --pairs N, --seconds S, --burst N, --no-dpdk");
            }
        }
        if (dpdk && !Files.isExecutable(Path.of(DPDK))) {
            out.println("note: " + DPDK + " not found (scripts/setup installs it); measuring panda alone");
            dpdk = false;
        }
        int cpus = Runtime.getRuntime().availableProcessors();
        String lcores = cpus >= 2 ? "0," + (cpus - 1) : "0@0,1@0";
        out.printf("ring-io: %d pair(s), %d s each, burst %d, forwarding lcore on CPU %d%n", pairs, seconds, burst,
                cpus - 1);
        List<Double> ratios = new ArrayList<>();
        List<Double> pandaRates = new ArrayList<>();
        List<Double> dpdkRates = new ArrayList<>();
        List<Double> bytesRates = new ArrayList<>();
        for (int p = 0; p < pairs; p++) {
            double a = panda(lcores, burst, seconds, false);
            pandaRates.add(a);
            out.printf("  pair %d  panda %8.3f Mpps", p + 1, a / 1e6);
            if (dpdk) {
                double b = dpdk(lcores, burst, seconds);
                dpdkRates.add(b);
                ratios.add(a / b);
                out.printf("   dpdk-testpmd %8.3f Mpps   ratio %.2f", b / 1e6, a / b);
            }
            double c = panda(lcores, burst, seconds, true);
            bytesRates.add(c);
            out.printf("   panda with byte counters %8.3f Mpps%n", c / 1e6);
        }
        out.printf("panda median %.3f Mpps (with byte counters %.3f Mpps)%n", median(pandaRates) / 1e6,
                median(bytesRates) / 1e6);
        if (dpdk) {
            out.printf("dpdk-testpmd median %.3f Mpps%n", median(dpdkRates) / 1e6);
            out.printf("median ratio panda/dpdk-testpmd: %.2f%n", median(ratios));
        }
        return 0;
    }

    private static int positive(String[] args, int i) {
        if (i >= args.length) {
            throw new IllegalArgumentException("option " + args[i - 1] + " needs a value");
        }
        int n = Integer.parseInt(args[i]);
        if (n < 1) {
            throw new IllegalArgumentException("option " + args[i - 1] + " must be positive");
        }
        return n;
    }

    /** Median per-second forwarded packet rate of panda's in-process testpmd. */
    static double panda(String lcores, int burst, int seconds, boolean countBytes) throws InterruptedException {
        String args = countBytes ? "" : ",count_bytes=0";
        TestpmdOptions o = TestpmdOptions.parse("--lcores", lcores, "--vdev", "net_ring0" + args, "--vdev", "net_ring1" + args,
                "--forward-mode=io", "--burst=" + burst, "--total-num-mbufs=8192", "--no-huge");
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        try (Testpmd app = Testpmd.open(o, quiet)) {
            app.start(1);
            Thread.sleep(1000);
            double[] rates = new double[seconds];
            long prev = forwarded(app);
            long t0 = System.nanoTime();
            for (int s = 0; s < seconds; s++) {
                Thread.sleep(1000);
                long now = forwarded(app);
                long t1 = System.nanoTime();
                rates[s] = (now - prev) / ((t1 - t0) / 1e9);
                prev = now;
                t0 = t1;
            }
            return median(rates);
        }
    }

    private static long forwarded(Testpmd app) {
        long rx = 0;
        for (int p = 0; p < app.portCount(); p++) {
            PortStats s = app.port(p).stats();
            rx += s.ipackets();
        }
        return rx;
    }

    /** Median per-second forwarded packet rate of dpdk-testpmd, from its own --stats-period output. */
    static double dpdk(String lcores, int burst, int seconds) throws IOException, InterruptedException {
        String prefix = "panda-perf-" + ProcessHandle.current().pid();
        List<String> cmd = List.of("stdbuf", "-oL", DPDK, "--lcores", lcores, "--no-huge", "-m", "512", "--no-pci",
                "--file-prefix", prefix, "--vdev", "net_ring0", "--vdev",
                "net_ring1", "--", "--forward-mode=io", "--tx-first", "--stats-period", "1", "--burst=" + burst,
                "--total-num-mbufs=8192");
        Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        List<Double> rates = new ArrayList<>();
        StringBuilder log = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
            long current = 0;
            int portsInBlock = 0;
            int blocks = 0;
            String line;
            while (rates.size() < seconds && (line = r.readLine()) != null) {
                if (log.length() < 20_000) {
                    log.append(line).append('\n');
                }
                Matcher m = RX_PPS.matcher(line);
                if (m.find()) {
                    current += Long.parseLong(m.group(1));
                    if (++portsInBlock == 2) {
                        // the first two blocks cover start-up and the warm-up second
                        if (++blocks > 2) {
                            rates.add((double) current);
                        }
                        current = 0;
                        portsInBlock = 0;
                    }
                }
            }
        } finally {
            proc.destroy(); // SIGTERM: testpmd stops forwarding and exits
            if (!proc.waitFor(10, TimeUnit.SECONDS)) {
                proc.destroyForcibly();
                proc.waitFor();
            }
            removeRunDirectory(prefix);
        }
        if (rates.isEmpty()) {
            throw new IOException("dpdk-testpmd printed no statistics; its output was:\n" + log);
        }
        return median(rates);
    }

    /** DPDK leaves /var/run/dpdk/PREFIX (its config and sockets) behind; nothing else uses it. */
    private static void removeRunDirectory(String prefix) throws IOException {
        Path dir = Path.of("/var/run/dpdk", prefix);
        if (Files.isDirectory(dir)) {
            try (var files = Files.walk(dir)) {
                for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    static double median(List<Double> v) {
        return median(v.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
