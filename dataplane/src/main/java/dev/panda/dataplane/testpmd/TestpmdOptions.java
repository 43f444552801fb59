package dev.panda.dataplane.testpmd;

import dev.panda.dataplane.fwd.ForwardEngines;
import dev.panda.dataplane.fwd.FwdConfig;
import dev.panda.dataplane.fwd.Packets;
import dev.panda.dataplane.lcore.IdleStrategy;
import dev.panda.dataplane.lcore.LcoreList;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.PciAllow;
import java.util.ArrayList;
import java.util.List;

/**
 * testpmd's command line, in DPDK's layout: {@code [EAL options] -- [application options]}. Without
 * {@code --} both kinds may be mixed. EAL memory options size panda's pool; options that have no
 * meaning for panda are accepted and listed in one note line, so existing scripts run unchanged.
 */
public final class TestpmdOptions {

    /** EAL options that take a value and mean nothing to panda. */
    private static final List<String> EAL_IGNORED_WITH_VALUE = List.of(
            "-n",
            "-r",
            "--file-prefix",
            "--log-level",
            "--proc-type",
            "--iova-mode",
            "--huge-dir",
            "--main-lcore",
            "--master-lcore",
            "--base-virtaddr",
            "--syslog",
            "--trace",
            "--socket-limit",
            "--mbuf-pool-ops-name",
            "--huge-worker-stack",
            "--force-max-simd-bitwidth");
    /** EAL flags that mean nothing to panda. */
    private static final List<String> EAL_IGNORED_FLAGS = List.of(
            "--no-pci",
            "--single-file-segments",
            "--in-memory",
            "--no-shconf",
            "--legacy-mem",
            "--no-telemetry",
            "--match-allocations",
            "--no-hpet",
            "--vmware-tsc-map",
            "--create-uio-dev",
            "--telemetry",
            "-v");
    /** Application options that take a value and mean nothing to panda yet. */
    private static final List<String> APP_IGNORED_WITH_VALUE = List.of(
            "--rss-ip",
            "--rss-udp",
            "--portmask",
            "--mbcache",
            "--max-pkt-len",
            "--max-lro-pkt-size",
            "--rxfreet",
            "--txfreet",
            "--rxpt",
            "--rxht",
            "--rxwt",
            "--txpt",
            "--txht",
            "--txwt",
            "--txrst",
            "--numa",
            "--socket-num",
            "--ring-numa-config",
            "--port-numa-config",
            "--pkt-filter-mode",
            "--tx-offloads",
            "--rx-offloads",
            "--mp-alloc",
            "--hairpinq",
            "--hairpin-mode",
            "--nb-txd",
            "--nb-rxd");

    private static final List<String> APP_IGNORED_FLAGS = List.of(
            "--no-lsc-interrupt",
            "--no-rmv-interrupt",
            "--disable-rss",
            "--enable-rx-cksum",
            "--no-flush-rx",
            "--no-numa",
            "--txonly-multi-flow",
            "--disable-link-check",
            "--no-iova-contig");

    public final List<String> vdevs = new ArrayList<>();
    public LcoreList lcores;
    public boolean interactive;
    public boolean autoStart;
    public boolean txFirst;
    public String forwardMode = "io";
    public int nbCores = 1;
    public int nbPorts = -1;
    public int statsPeriod;
    public int rxq = 1;
    public int txq = 1;
    public int rxd = 1024;
    public int txd = 1024;
    public String portTopology = "paired";
    public IdleStrategy.Kind idle = IdleStrategy.Kind.SPIN;
    public boolean pin = true;
    public double runTimeSeconds;
    public long memoryMb;
    public PoolConfig pool = PoolConfig.defaults();
    public boolean poolCountGiven;
    public FwdConfig fwd = FwdConfig.defaults();
    public boolean help;
    /** {@code --rx-filter} as given (opened by {@link Testpmd#open}), or null. */
    public String rxFilter;
    /** {@code --record-core-cycles}: show fwd stats prints busy cycles per packet, as dpdk-testpmd. */
    public boolean recordCoreCycles;
    /** {@code --record-burst-stats}: show fwd stats prints the spread of rx and tx burst sizes, as dpdk-testpmd. */
    public boolean recordBurstStats;
    /** Options accepted without effect, reported in one note line. */
    public final List<String> ignored = new ArrayList<>();

    private TestpmdOptions() {}

    public static TestpmdOptions parse(String... args) {
        TestpmdOptions o = new TestpmdOptions();
        int split = List.of(args).indexOf("--");
        Cursor c = new Cursor(args);
        while (c.more()) {
            boolean afterSplit = split >= 0 && c.i > split;
            String a = c.next();
            if (a.equals("--")) {
                continue;
            }
            boolean eal = split >= 0 && !afterSplit;
            if (eal) {
                if (!o.eal(a, c, false)) {
                    throw new UsageException("unknown EAL option '" + a + "' (before --); EAL options: "
                            + "-l, --lcores, -c, --vdev, -m, --socket-mem, --no-huge, "
                            + String.join(", ", EAL_IGNORED_FLAGS) + ", " + String.join(", ", EAL_IGNORED_WITH_VALUE));
                }
            } else if (!(split < 0 && o.eal(a, c, true)) && !o.app(a, c, split < 0)) {
                throw new UsageException(
                        "unknown option '" + a + "'; application options: " + appOptionNames() + " (details: --help)");
            }
        }
        o.validate();
        return o;
    }

    /** Application options with one line of help each, for --help and error messages. */
    static final List<String[]> APP_OPTIONS = List.of(
            new String[] {"-i, --interactive", "read commands at a testpmd> prompt (terminal or pipe)"},
            new String[] {"-a, --auto-start", "with -i: start forwarding at once"},
            new String[] {"--tx-first", "send one burst on every stream before forwarding"},
            new String[] {"--forward-mode=MODE", "forwarding mode (default io)"},
            new String[] {"--burst=N", "packets per rx/tx call, 1..512 (default 32)"},
            new String[] {"--txpkts=N[,N]", "frame length txonly and flowgen send (default 64)"},
            new String[] {"--nb-cores=N", "forwarding lcores to use (default 1)"},
            new String[] {"--nb-ports=N", "use only the first N ports"},
            new String[] {"--stats-period=S", "without -i: print port statistics every S seconds"},
            new String[] {"--rxq=N, --txq=N", "queues per port (default 1)"},
            new String[] {"--rxd=N, --txd=N", "ring size per queue, a power of two (default 1024)"},
            new String[] {"--port-topology=T", "paired (default), chained or loop"},
            new String[] {"--eth-peer=N,MAC", "destination MAC for port N in mac mode and generators"},
            new String[] {"--total-num-mbufs=N", "packet buffers in the pool (default 16384)"},
            new String[] {"--mbuf-size=N", "bytes per buffer including 128 of headroom (default 2176)"},
            new String[] {"--flowgen-flows=N", "flows flowgen cycles through (default 1024)"},
            new String[] {"--idle=spin|yield|park", "panda: what an idle poller does (default spin, as testpmd)"},
            new String[] {"--no-pin", "panda: do not pin lcore threads to their CPUs"},
            new String[] {"--run-time=S", "panda: without -i, stop after S seconds"},
            new String[] {
                "--rx-filter=F",
                "panda: filter every received burst first: prefilter[,engine=jit|interp], "
                        + "or PATH.o[,prog=NAME][,engine=jit|interp] (eBPF XDP object run in userspace)"
            },
            new String[] {"--verify-payload", "panda: rxonly checks the payload stamp of generated packets"},
            new String[] {
                "--tx-rate=PPS",
                "panda: txonly and flowgen send PPS packets per second in all (e.g. 100000, 1.5M), paced"
                        + " on the clock; what cannot be sent within 1 ms of its time is given up"
            },
            new String[] {
                "--latency",
                "panda: generators stamp the send time (System.nanoTime) into the payload; every stream"
                        + " records the one-way latency of stamped packets it receives; show fwd stats"
                        + " prints p50/p99/p99.9/p99.99/max"
            },
            new String[] {"--record-core-cycles", "show fwd stats prints busy CPU cycles per packet (as testpmd)"},
            new String[] {
                "--record-burst-stats",
                "show fwd stats prints how many rx and tx calls moved how many packets (as testpmd)"
            },
            new String[] {"-h, --help", "this help"});

    static String appOptionNames() {
        StringBuilder b = new StringBuilder();
        for (String[] o : APP_OPTIONS) {
            b.append(b.isEmpty() ? "" : " ").append(o[0].replaceAll("[=,].*|, .*", ""));
        }
        return b.toString();
    }

    private boolean eal(String a, Cursor c, boolean mixed) {
        String name = Cursor.name(a);
        if (mixed && name.equals("-a") && !c.peekLooksLikePci()) {
            return false; // -a without a PCI address is testpmd's --auto-start
        }
        switch (name) {
            case "-l" -> lcores = parseLcores(() -> LcoreList.parseCoreList(c.value(a, "-l")));
            case "--lcores" -> lcores = parseLcores(() -> LcoreList.parseLcores(c.value(a, "--lcores")));
            case "-c" -> lcores = parseLcores(() -> LcoreList.parseCoreMask(c.value(a, "-c")));
            case "--vdev" -> vdevs.add(c.value(a, "--vdev"));
            case "-m" -> memoryMb = c.intValue(a, "-m", 1, 1 << 20);
            case "--socket-mem" -> memoryMb = socketMem(c.value(a, "--socket-mem"));
            case "--no-huge" -> pool = pool.withHugepages(PoolConfig.Hugepages.OFF);
            case "-a", "--allow", "-w", "--pci-whitelist" -> {
                String v = c.value(a, name);
                if (!PciAllow.isPci(v)) {
                    throw new UsageException(
                            "invalid PCI device '" + v + "' (" + name + "): expected DDDD:BB:DD.F[,key=value...]");
                }
                vdevs.add(v); // opened by the driver that probes its vendor/device id
            }
            case "-b", "--block" -> {
                String v = c.value(a, name);
                throw new UsageException("PCI device " + v + " (" + name + "): panda scans no PCI bus, so there is "
                        + "nothing to block; name the devices to use with -a");
            }
            case "-d" -> {
                c.value(a, "-d");
                ignored.add(a);
            }
            default -> {
                if (EAL_IGNORED_FLAGS.contains(name) && !a.contains("=")) {
                    ignored.add(a);
                } else if (EAL_IGNORED_WITH_VALUE.contains(name)) {
                    String v = c.value(a, name);
                    ignored.add(a.contains("=") ? a : name + " " + v);
                } else {
                    return false;
                }
            }
        }
        return true;
    }

    private boolean app(String a, Cursor c, boolean mixed) {
        String name = Cursor.name(a);
        switch (name) {
            case "-i", "--interactive" -> interactive = true;
            case "-a", "--auto-start" -> {
                if (mixed && c.peekLooksLikePci()) {
                    return false;
                }
                autoStart = true;
            }
            case "--tx-first" -> txFirst = true;
            case "--forward-mode" -> {
                String m = c.value(a, name);
                try {
                    ForwardEngines.byName(m);
                } catch (IllegalArgumentException e) {
                    throw new UsageException(e.getMessage());
                }
                forwardMode = m;
            }
            case "--burst" -> fwd = fwd.withBurst(c.intValue(a, name, 1, PacketBurst.MAX_BURST));
            case "--txpkts" -> fwd = fwd.withTxPacketLen(txpkts(c.value(a, name)));
            case "--nb-cores" -> nbCores = c.intValue(a, name, 1, 1024);
            case "--nb-ports" -> nbPorts = c.intValue(a, name, 1, FwdConfig.MAX_PORTS);
            case "--stats-period" -> statsPeriod = c.intValue(a, name, 0, 86_400);
            case "--rxq" -> rxq = c.intValue(a, name, 1, 1024);
            case "--txq" -> txq = c.intValue(a, name, 1, 1024);
            case "--rxd" -> rxd = c.powerOfTwo(a, name);
            case "--txd" -> txd = c.powerOfTwo(a, name);
            case "--port-topology" -> {
                String t = c.value(a, name);
                if (!List.of("paired", "chained", "loop").contains(t)) {
                    throw new UsageException("invalid --port-topology '" + t + "': accepted paired, chained, loop");
                }
                portTopology = t;
            }
            case "--eth-peer" -> ethPeer(c.value(a, name));
            case "--total-num-mbufs" -> {
                pool = pool.withCount(c.intValue(a, name, 1024, 1 << 24));
                poolCountGiven = true;
            }
            case "--mbuf-size" -> {
                int size = c.intValue(a, name, 256 + pool.headroom(), 65536 + pool.headroom());
                pool = pool.withDataRoom(size - pool.headroom());
            }
            case "--flowgen-flows" -> fwd = fwd.withFlows(c.intValue(a, name, 1, 65536));
            case "--idle" -> {
                try {
                    idle = IdleStrategy.Kind.parse(c.value(a, name));
                } catch (IllegalArgumentException e) {
                    throw new UsageException(e.getMessage());
                }
            }
            case "--no-pin" -> pin = false;
            case "--run-time" -> runTimeSeconds = c.doubleValue(a, name);
            case "--verify-payload" -> fwd = fwd.withVerifyPayload(true);
            case "--tx-rate" -> fwd = fwd.withTxRate(rate(c.value(a, name)));
            case "--latency" -> fwd = fwd.withLatency(true);
            case "--record-core-cycles" -> recordCoreCycles = true;
            case "--record-burst-stats" -> recordBurstStats = true;
            case "--rx-filter" -> {
                String f = c.value(a, name);
                if (f.isBlank()) {
                    throw new UsageException(
                            "invalid --rx-filter '': expected prefilter or PATH.o[,prog=NAME][,engine=jit|interp]");
                }
                rxFilter = f;
            }
            case "-h", "--help" -> help = true;
            default -> {
                if (APP_IGNORED_FLAGS.contains(a)) {
                    ignored.add(a);
                } else if (APP_IGNORED_WITH_VALUE.contains(name)) {
                    String v = c.value(a, name);
                    ignored.add(a.contains("=") ? a : name + " " + v);
                } else {
                    return false;
                }
            }
        }
        return true;
    }

    private static LcoreList parseLcores(java.util.function.Supplier<LcoreList> p) {
        try {
            return p.get();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** {@code --tx-rate}: packets per second, a number with an optional k, M or G suffix. */
    static double rate(String v) {
        String t = v.strip();
        double unit = 1;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'k', 'K' -> unit = 1e3;
                case 'm', 'M' -> unit = 1e6;
                case 'g', 'G' -> unit = 1e9;
                default -> {}
            }
            if (unit != 1) {
                t = t.substring(0, t.length() - 1);
            }
        }
        try {
            double pps = Double.parseDouble(t) * unit;
            if (!t.matches("([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][0-9]+)?")
                    || !(pps >= 1 && pps <= FwdConfig.MAX_TX_RATE)) {
                throw new NumberFormatException();
            }
            return pps;
        } catch (NumberFormatException e) {
            throw new UsageException("invalid --tx-rate '" + v + "': expected packets per second 1.."
                    + (long) FwdConfig.MAX_TX_RATE + ", e.g. 100000, 250k or 1.5M");
        }
    }

    private static long socketMem(String v) {
        long total = 0;
        for (String part : v.split(",", -1)) {
            try {
                long mb = Long.parseLong(part.trim());
                if (mb < 0 || mb > (1 << 20)) {
                    throw new NumberFormatException();
                }
                total += mb;
            } catch (NumberFormatException e) {
                throw new UsageException("invalid --socket-mem '" + v + "': expected MB per socket, e.g. 512 or 512,0");
            }
        }
        return total;
    }

    private static int txpkts(String v) {
        int total = 0;
        for (String part : v.split(",", -1)) {
            try {
                int n = Integer.parseInt(part.trim());
                if (n < 1) {
                    throw new NumberFormatException();
                }
                total += n;
            } catch (NumberFormatException e) {
                throw new UsageException("invalid --txpkts '" + v + "': expected segment lengths, e.g. 64 or 64,64");
            }
        }
        if (total < FwdConfig.MIN_TXPKTS || total > 9000) {
            throw new UsageException(
                    "invalid --txpkts '" + v + "': total length must be " + FwdConfig.MIN_TXPKTS + "..9000 bytes");
        }
        return total;
    }

    private void ethPeer(String v) {
        int comma = v.indexOf(',');
        try {
            int port = Integer.parseInt(v.substring(0, comma < 0 ? v.length() : comma));
            if (comma < 0 || port < 0 || port >= FwdConfig.MAX_PORTS) {
                throw new IllegalArgumentException();
            }
            fwd = fwd.withPeerMac(port, Packets.parseMac(v.substring(comma + 1)));
        } catch (IllegalArgumentException e) {
            throw new UsageException("invalid --eth-peer '" + v + "': expected PORT,XX:XX:XX:XX:XX:XX with PORT 0.."
                    + (FwdConfig.MAX_PORTS - 1));
        }
    }

    private void validate() {
        if (help) {
            return;
        }
        if (vdevs.isEmpty()) {
            throw new UsageException(
                    "no ports: give at least one --vdev or -a, e.g. --vdev net_ring0 --vdev net_ring1");
        }
        if (fwd.txPacketLen() > pool.dataRoom()) {
            throw new UsageException("--txpkts " + fwd.txPacketLen() + " does not fit a buffer of " + pool.dataRoom()
                    + " bytes (raise --mbuf-size)");
        }
        if (memoryMb > 0 && !poolCountGiven) {
            long fit = (memoryMb << 20) / pool.stride();
            if (fit < pool.count()) {
                if (fit < 1024) {
                    throw new UsageException("-m/--socket-mem " + memoryMb + " MB holds only " + fit
                            + " buffers; panda needs at least 1024");
                }
                pool = pool.withCount((int) fit);
            }
        }
        if (pin && lcores != null && lcores.size() < 2) {
            throw new UsageException("lcore list " + lcores + " has no forwarding lcore: the first lcore is the "
                    + "main one, give at least two (e.g. -l 0,1)");
        }
    }

    /** A one-line note about accepted options that have no effect, or null. */
    public String ignoredNote() {
        if (ignored.isEmpty()) {
            return null;
        }
        return "panda: options accepted without effect here: " + String.join(" ", ignored);
    }

    /** Walks the argument array; handles {@code --opt=value} and {@code --opt value}. */
    private static final class Cursor {
        private final String[] args;
        int i;

        Cursor(String[] args) {
            this.args = args;
        }

        boolean more() {
            return i < args.length;
        }

        String next() {
            return args[i++];
        }

        static String name(String a) {
            if (a.startsWith("--")) {
                int eq = a.indexOf('=');
                return eq < 0 ? a : a.substring(0, eq);
            }
            // short options may carry their value attached: -l0-1, -m512
            return a.length() > 2 && a.startsWith("-") ? a.substring(0, 2) : a;
        }

        String value(String a, String name) {
            if (a.startsWith("--") && a.contains("=")) {
                return a.substring(a.indexOf('=') + 1);
            }
            if (!a.startsWith("--") && a.length() > 2) {
                return a.substring(2);
            }
            if (i >= args.length || args[i].equals("--")) {
                throw new UsageException("option " + name + " needs a value");
            }
            return args[i++];
        }

        int intValue(String a, String name, int min, int max) {
            String v = value(a, name);
            try {
                int n = Integer.parseInt(v.trim());
                if (n < min || n > max) {
                    throw new NumberFormatException();
                }
                return n;
            } catch (NumberFormatException e) {
                throw new UsageException("invalid " + name + " '" + v + "': expected an integer " + min + ".." + max);
            }
        }

        int powerOfTwo(String a, String name) {
            int n = intValue(a, name, 2, 1 << 16);
            if (Integer.bitCount(n) != 1) {
                throw new UsageException("invalid " + name + " '" + n + "': expected a power of two 2..65536");
            }
            return n;
        }

        double doubleValue(String a, String name) {
            String v = value(a, name);
            try {
                double d = Double.parseDouble(v);
                if (!(d > 0 && d <= 86_400 * 365)) {
                    throw new NumberFormatException();
                }
                return d;
            } catch (NumberFormatException e) {
                throw new UsageException("invalid " + name + " '" + v + "': expected seconds > 0");
            }
        }

        boolean peekLooksLikePci() {
            return i < args.length && args[i].matches("([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7].*");
        }
    }
}
