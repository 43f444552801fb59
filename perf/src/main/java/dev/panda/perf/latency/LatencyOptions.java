package dev.panda.perf.latency;

import java.util.ArrayList;
import java.util.List;

/**
 * What {@code panda perf latency} measures.
 *
 * @param ratesMpps offered rates, millions of packets per second
 * @param seconds   the measured window of each run
 * @param warmup    seconds of traffic at the run's rate before the window
 * @param only      the paths: {@code ring} (net_ring loop), {@code vswitch} (vhost-user loop through
 *                  panda's vswitch), {@code ovs} (through OVS-DPDK), {@code testpmd} (through
 *                  dpdk-testpmd io forwarding)
 */
public record LatencyOptions(List<Double> ratesMpps, int seconds, int warmup, List<String> only) {

    public static final List<String> PATHS = List.of("ring", "vswitch", "ovs", "testpmd");

    public LatencyOptions {
        ratesMpps = List.copyOf(ratesMpps);
        only = List.copyOf(only);
        if (ratesMpps.isEmpty()) {
            throw new IllegalArgumentException("--rates: give at least one rate");
        }
        for (double r : ratesMpps) {
            if (!(r > 0 && r <= 1000)) {
                throw new IllegalArgumentException("--rates: each rate must be > 0 and <= 1000 Mpps, got " + r);
            }
        }
        if (seconds < 1 || warmup < 0) {
            throw new IllegalArgumentException("--seconds must be >= 1 and --warmup >= 0");
        }
        for (String p : only) {
            if (!PATHS.contains(p)) {
                throw new IllegalArgumentException(
                        "--only: unknown path '" + p + "'; accepted " + String.join(", ", PATHS));
            }
        }
        if (only.isEmpty()) {
            throw new IllegalArgumentException("--only: give at least one path");
        }
    }

    /** 0.1, 1 and 5 Mpps, 5 s windows after 2 s of warm-up, every path. */
    public static LatencyOptions defaults() {
        return new LatencyOptions(List.of(0.1, 1.0, 5.0), 5, 2, PATHS);
    }

    /** {@code [--rates 0.1,1,5] [--seconds N] [--warmup N] [--only ring,vswitch,ovs,testpmd]}. */
    public static LatencyOptions parse(String... args) {
        LatencyOptions d = defaults();
        List<Double> rates = d.ratesMpps();
        int seconds = d.seconds();
        int warmup = d.warmup();
        List<String> only = d.only();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--rates" -> rates = rates(value(args, ++i, a));
                case "--seconds" -> seconds = integer(value(args, ++i, a), a, 1);
                case "--warmup" -> warmup = integer(value(args, ++i, a), a, 0);
                case "--only" -> only = paths(value(args, ++i, a));
                default ->
                    throw new IllegalArgumentException("unknown latency option '" + a
                            + "'; accepted --rates MPPS,..., --seconds N, --warmup N, --only PATH,...");
            }
        }
        return new LatencyOptions(rates, seconds, warmup, only);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException("option " + option + " needs a value");
        }
        return args[i];
    }

    private static int integer(String v, String option, int min) {
        try {
            int n = Integer.parseInt(v.strip());
            if (n < min || n > 3600) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid " + option + " '" + v + "': expected " + min + "..3600");
        }
    }

    private static List<Double> rates(String v) {
        List<Double> r = new ArrayList<>();
        for (String s : v.split(",", -1)) {
            try {
                if (!s.strip().matches("[0-9]*\\.?[0-9]+")) {
                    throw new NumberFormatException();
                }
                r.add(Double.parseDouble(s.strip()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("invalid --rates '" + v + "': expected Mpps like 0.1,1,5");
            }
        }
        return r;
    }

    private static List<String> paths(String v) {
        List<String> p = new ArrayList<>();
        for (String s : v.split(",", -1)) {
            String n = s.strip();
            if (!p.contains(n)) {
                p.add(n);
            }
        }
        return p;
    }
}
