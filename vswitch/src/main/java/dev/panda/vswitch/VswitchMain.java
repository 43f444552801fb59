package dev.panda.vswitch;

import dev.panda.jextract.Posix;
import dev.panda.vswitch.capture.CaptureSpec;
import dev.panda.vswitch.config.ConfigDiff;
import dev.panda.vswitch.config.ConfigFiles;
import dev.panda.vswitch.config.MetricsConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.control.ControlServer;
import dev.panda.vswitch.control.ControlToken;
import dev.panda.vswitch.journal.ChangeKinds;
import dev.panda.vswitch.journal.Journal;
import dev.panda.vswitch.journal.JournalState;
import dev.panda.vswitch.journal.JournaledControl;
import dev.panda.vswitch.metrics.MetricsServer;
import java.io.IOException;
import java.io.PrintStream;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * {@code panda vswitch [--config FILE] [--control PATH] [--pmd-cores LIST] [--mode rtc|pipeline]
 * [--idle spin|yield|park] [--metrics ADDR:PORT|off]}: loads the config (options override the file), starts the {@link
 * Vswitch}, serves it on the control socket and runs until SIGTERM or SIGINT, which close the
 * control server, then the vswitch, and exit 0; SIGHUP re-reads the {@code --config} file and
 * applies the difference. A bad option or file: one line, exit 2.
 */
public final class VswitchMain {

    /** Where durable state lives unless {@code --state-dir} says otherwise. */
    public static final String DEFAULT_STATE_DIR = "/var/lib/panda";

    static final String USAGE = """
            usage: panda vswitch [--config FILE] [--control PATH] [--control-group G]
                                 [--control-tcp ADDR:PORT --control-token FILE] [--pmd-cores LIST]
                                 [--mode rtc|pipeline] [--idle spin|yield|park] [--metrics ADDR:PORT|off] [--demo]
                                 [--state-dir DIR] [--fresh] [--journal on|off]
              --config FILE     bridges, ports and pollers to start with (YAML; see the vswitch README)
              --control PATH    the control socket panda ctl talks to (default %s), mode 0600
              --control-group G let group G use the control socket too (mode 0660)
              --control-tcp ADDR:PORT
                                also serve the control API on TCP (every request needs the bearer token)
              --control-token FILE
                                the TCP listener's token, from a file only this user may read (mode 0600)
              --pmd-cores LIST  CPUs of the pollers, e.g. 1, 1,2 or 0-1 (other threads stay off them)
              --mode M          rtc (each poller rx -> switch -> tx) or pipeline (Disruptor stages)
              --idle I          what an idle poller does: spin, yield or park
              --metrics A:P     serve Prometheus metrics at http://A:P/metrics, e.g. 127.0.0.1:9464 (off: none)
              --demo            two network namespaces on br0 ping each other, then everything is removed
              --state-dir DIR   durable state: the control journal (DIR/journal) and captures
                                (DIR/captures/NAME); default %s
              --fresh           start empty: the old journal is moved aside to DIR/journal.old-TIMESTAMP
              --journal on|off  keep every applied change in the journal, synced before it is acknowledged
                                (default on; off, or PANDA_VSWITCH_JOURNAL=off: nothing survives a restart)
            Options override the file. Stop with SIGTERM or Ctrl-C; SIGHUP re-reads the --config file
            and applies what changed (as panda ctl apply). A non-empty journal wins over --config.
            """.formatted(ControlServer.DEFAULT_PATH, DEFAULT_STATE_DIR);

    /** The parsed command line. */
    static final class Options {
        Path stateDir = Path.of(DEFAULT_STATE_DIR);
        boolean stateDirGiven;
        boolean fresh;
        boolean journal = !"off".equals(System.getenv("PANDA_VSWITCH_JOURNAL"));
        int compactAfter = Journal.DEFAULT_COMPACT_AFTER;
        Path config;
        Path control = Path.of(ControlServer.DEFAULT_PATH);
        String controlGroup;
        InetSocketAddress controlTcp;
        Path controlToken;
        List<Integer> pmdCores;
        PmdConfig.Mode mode;
        String idle;
        MetricsConfig metrics;
        boolean demo;
        boolean help;
    }

    /** A refused command line: one line, exit 2. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    private VswitchMain() {}

    /** Starts the data path with a restart's flows and the journal's gate (tests pass a fake). */
    @FunctionalInterface
    interface Starter {
        Control start(VswitchConfig config, Vswitch.Restore restore);
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        CountDownLatch stop = new CountDownLatch(1);
        Semaphore reload = new Semaphore(0);
        onSignal(stop, reload);
        return run(args, out, err, (Starter) Vswitch::start, stop, reload);
    }

    static int run(
            String[] args,
            PrintStream out,
            PrintStream err,
            Function<VswitchConfig, ? extends Control> start,
            CountDownLatch stop) {
        return run(args, out, err, start, stop, new Semaphore(0));
    }

    /**
     * @param start starts the data path (tests pass a fake); an {@link AutoCloseable} result is
     *     closed on the way out
     * @param stop  counted down to stop (by SIGTERM/SIGINT in {@link #run(String[], PrintStream,
     *     PrintStream)})
     * @param reload released to re-read the {@code --config} file and apply it (by SIGHUP)
     */
    static int run(
            String[] args,
            PrintStream out,
            PrintStream err,
            Function<VswitchConfig, ? extends Control> start,
            CountDownLatch stop,
            Semaphore reload) {
        return run(args, out, err, (Starter) (c, r) -> start.apply(c), stop, reload);
    }

    static int run(
            String[] args, PrintStream out, PrintStream err, Starter start, CountDownLatch stop, Semaphore reload) {
        Options o;
        VswitchConfig config;
        try {
            o = parse(args);
            if (o.help) {
                out.print(USAGE);
                return 0;
            }
            config = apply(o, o.config == null ? VswitchConfig.empty() : ConfigFiles.load(o.config));
            if (!o.stateDirGiven && config.stateDir() != null) {
                // the file's state-dir, held as if given: a journal's state that wins keeps it too
                try {
                    o.stateDir = Path.of(config.stateDir());
                    o.stateDirGiven = true;
                } catch (java.nio.file.InvalidPathException e) {
                    throw VswitchException.badRequest(o.config + ": state-dir: " + e.getMessage());
                }
            }
        } catch (UsageException | VswitchException e) {
            err.println("panda vswitch: " + e.getMessage());
            return 2;
        }
        if (o.demo) {
            // the demo needs no control socket: it drives the vswitch in-process, then stops it
            Control demo;
            try {
                demo = start.start(config, Vswitch.Restore.NONE);
            } catch (RuntimeException e) {
                err.println("panda vswitch: cannot start: " + oneLine(String.valueOf(e.getMessage())));
                return 1;
            }
            try {
                return Demo.run(demo, out);
            } finally {
                closeQuietly(demo, err);
            }
        }
        Control vswitch;
        ControlServer server;
        ControlServer.Options serverOptions;
        try {
            serverOptions = ControlServer.Options.unix(o.control).withGroup(o.controlGroup);
            if (o.controlTcp != null) {
                serverOptions = serverOptions.withTcp(o.controlTcp, ControlToken.read(o.controlToken));
            }
            // fail on a socket in use, an unknown group or an unsafe directory before opening any device
            ControlServer.claim(serverOptions);
        } catch (VswitchException e) {
            err.println("panda vswitch: " + oneLine(e.getMessage()));
            return 2;
        }
        Journal journal = null;
        if (o.journal) {
            try {
                journal = openJournal(o, out, err);
            } catch (IOException | RuntimeException e) {
                err.println("panda vswitch: journal: " + oneLine(String.valueOf(e.getMessage()))
                        + " (--state-dir DIR elsewhere, or --journal off)");
                return 2;
            }
            if (!journal.recovery().empty()) {
                config = apply(o, journal.recovery().state());
            }
        } // off: no line (the test JVMs run that way; the README says what off means)
        JournaledControl journaled = journal == null ? null : new JournaledControl(journal);
        JournalState recovered = journal == null ? null : journal.recovery().journalState();
        try {
            // flows go in before each bridge forwards and before its OpenFlow listeners and
            // controller connections start; every flow change from then on passes the journal's gate
            vswitch = start.start(
                    config,
                    new Vswitch.Restore(recovered == null ? java.util.Map.of() : recovered.flowAdds(), journaled));
        } catch (VswitchException e) {
            err.println("panda vswitch: " + oneLine(e.getMessage()) + fromJournal(journal));
            closeJournal(journal);
            return 2;
        } catch (RuntimeException e) {
            err.println(
                    "panda vswitch: cannot start: " + oneLine(String.valueOf(e.getMessage())) + fromJournal(journal));
            closeJournal(journal);
            return 1;
        }
        if (journal != null) {
            if (recovered != null) {
                // captures after the ports they take frames from; each appends to its queue
                for (CaptureSpec c : recovered.captures()) {
                    try {
                        vswitch.captureStart(c);
                    } catch (RuntimeException e) {
                        err.println("panda vswitch: journal: capture " + c.name() + " (port " + c.port()
                                + ") was running and could not start again: "
                                + oneLine(String.valueOf(e.getMessage())));
                    }
                }
            }
            try {
                Path aside = journaled.begin(vswitch);
                if (aside != null) {
                    out.println("panda vswitch: journal: the generation it could not read in full is kept in " + aside);
                }
            } catch (IOException | RuntimeException e) {
                err.println("panda vswitch: journal: " + oneLine(String.valueOf(e.getMessage())));
                closeQuietly(vswitch, err);
                closeJournal(journal);
                return 1;
            }
            vswitch = journaled;
        }
        try {
            server = ControlServer.start(
                    serverOptions, vswitch, controlCpus(config.pmd().cores()));
        } catch (VswitchException e) {
            err.println("panda vswitch: " + oneLine(e.getMessage()));
            closeQuietly(vswitch, err);
            return 2;
        }
        MetricsServer metrics = null;
        if (config.metrics().enabled()) {
            try {
                metrics = MetricsServer.start(
                        config.metrics().address(),
                        vswitch,
                        controlCpus(config.pmd().cores()),
                        server.counters());
            } catch (VswitchException e) {
                err.println("panda vswitch: " + oneLine(e.getMessage()));
                server.close();
                closeQuietly(vswitch, err);
                return 2;
            }
        }
        out.println("panda vswitch: control socket " + server.path() + " (panda ctl --control " + server.path()
                + " show); SIGTERM or Ctrl-C stops");
        if (metrics != null) {
            InetSocketAddress a = metrics.address();
            String host = a.getAddress() instanceof Inet6Address
                    ? "[" + a.getAddress().getHostAddress() + "]"
                    : a.getAddress().getHostAddress();
            out.println("panda vswitch: metrics http://" + host + ":" + a.getPort() + "/metrics");
        }
        if (server.tcpAddress() != null) {
            out.println("panda vswitch: control listener tcp:" + ControlServer.hostPort(server.tcpAddress())
                    + " (bearer token from " + o.controlToken + ")");
        }
        out.flush();
        try {
            while (!stop.await(100, TimeUnit.MILLISECONDS)) {
                if (reload.tryAcquire()) {
                    reload.drainPermits(); // signals that came meanwhile: one re-read covers them
                    out.println(reload(o, vswitch));
                    out.flush();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (metrics != null) {
            metrics.close();
        }
        server.close();
        return closeQuietly(vswitch, err) ? 0 : 1;
    }

    /**
     * {@code --fresh} moves the old journal aside; then the journal is locked and read. One line for
     * each of: where the old journal went, a torn or corrupt tail, which state wins.
     */
    private static Journal openJournal(Options o, PrintStream out, PrintStream err) throws IOException {
        Path dir = o.stateDir.resolve("journal");
        if (o.fresh) {
            Path moved = Journal.setAside(dir);
            out.println(
                    moved == null
                            ? "panda vswitch: --fresh: no journal in " + dir + " to move aside; starting empty"
                            : "panda vswitch: --fresh: the old journal moved to " + moved + "; starting "
                                    + (o.config == null ? "empty" : "from " + o.config));
        }
        Journal j = Journal.open(dir, ChangeKinds.standard(), o.compactAfter);
        Journal.Recovery r = j.recovery();
        for (String p : r.problems()) {
            err.println("panda vswitch: journal " + dir + ": " + p);
        }
        if (!r.empty()) {
            VswitchConfig s = r.state();
            JournalState js = r.journalState();
            String what = s.bridges().size() + " bridge(s), "
                    + s.bridges().stream().mapToInt(b -> b.ports().size()).sum() + " port(s)"
                    + (js.flowCount() > 0 ? ", " + js.flowCount() + " flow(s)" : "")
                    + (js.captures().isEmpty() ? "" : ", " + js.captures().size() + " capture(s)")
                    + " from its snapshot and " + r.changes() + " change(s) after it (through entry #" + r.lastSeq()
                    + ")";
            out.println(
                    o.config == null
                            ? "panda vswitch: state from the journal in " + dir + ": " + what
                            : "panda vswitch: the journal in " + dir + " wins: " + what + "; --config " + o.config
                                    + " is ignored (--fresh starts from the file instead)");
        } else {
            out.println("panda vswitch: journal " + dir + " is empty; starting "
                    + (o.config == null ? "empty" : "from " + o.config));
        }
        out.flush();
        return j;
    }

    private static String fromJournal(Journal j) {
        return j == null || j.recovery().empty()
                ? ""
                : " (the state came from the journal in " + j.dir() + "; --fresh starts without it)";
    }

    private static void closeJournal(Journal j) {
        if (j != null) {
            j.close();
        }
    }

    /**
     * SIGHUP: the {@code --config} file again (with the command line's options on top), applied as
     * {@code panda ctl apply} does: only what differs changes, all or nothing. One line back.
     */
    static String reload(Options o, Control vswitch) {
        if (o.config == null) {
            return "panda vswitch: SIGHUP: no --config file to re-read; nothing changed";
        }
        try {
            VswitchConfig desired = apply(o, ConfigFiles.load(o.config));
            ConfigDiff diff = vswitch.apply(desired, false);
            return "panda vswitch: SIGHUP: " + o.config + ": "
                    + (diff.isEmpty() ? "no changes" : "applied " + diff.summary());
        } catch (VswitchException e) {
            return "panda vswitch: SIGHUP: " + o.config + " refused, nothing changed: " + oneLine(e.getMessage());
        } catch (RuntimeException e) {
            return "panda vswitch: SIGHUP: " + o.config + " failed: " + oneLine(String.valueOf(e));
        }
    }

    private static boolean closeQuietly(Control vswitch, PrintStream err) {
        if (vswitch instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                err.println("panda vswitch: closing: " + oneLine(String.valueOf(e.getMessage())));
                return false;
            }
        }
        return true;
    }

    static Options parse(String[] args) {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String name = a;
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            switch (name) {
                case "-h", "--help" -> o.help = true;
                case "--demo" -> o.demo = true;
                case "--fresh" -> o.fresh = true;
                case "--config",
                        "--control",
                        "--control-group",
                        "--control-tcp",
                        "--control-token",
                        "--pmd-cores",
                        "--mode",
                        "--idle",
                        "--metrics",
                        "--state-dir",
                        "--journal",
                        "--journal-compact-after" -> {
                    if (value == null) {
                        if (i + 1 >= args.length) {
                            throw new UsageException(name + " needs a value (see panda vswitch --help)");
                        }
                        value = args[++i];
                    }
                    option(o, name, value);
                }
                default -> throw new UsageException("unknown option '" + a + "' (see panda vswitch --help)");
            }
        }
        if (o.controlTcp != null && o.controlToken == null) {
            throw new UsageException("--control-tcp needs --control-token FILE");
        }
        if (o.controlToken != null && o.controlTcp == null) {
            throw new UsageException("--control-token is for the TCP listener (--control-tcp ADDR:PORT)");
        }
        return o;
    }

    private static void option(Options o, String name, String value) {
        try {
            switch (name) {
                case "--config" -> o.config = Path.of(value);
                case "--control" -> o.control = Path.of(value);
                case "--state-dir" -> {
                    o.stateDir = Path.of(value);
                    o.stateDirGiven = true;
                }
                case "--journal" -> {
                    if (!value.equals("on") && !value.equals("off")) {
                        throw new IllegalArgumentException("'" + value + "' is not on or off");
                    }
                    o.journal = value.equals("on");
                }
                case "--journal-compact-after" -> {
                    int n;
                    try {
                        n = Integer.parseInt(value);
                    } catch (NumberFormatException e) {
                        n = 0;
                    }
                    if (n < 1) {
                        throw new IllegalArgumentException("'" + value + "' is not a number of changes >= 1");
                    }
                    o.compactAfter = n;
                }
                case "--control-group" -> {
                    if (!value.matches("[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\\$?")) {
                        throw new IllegalArgumentException("'" + value + "' is not a group name");
                    }
                    o.controlGroup = value;
                }
                case "--control-tcp" -> o.controlTcp = ControlServer.parseTcp(value);
                case "--control-token" -> o.controlToken = Path.of(value);
                case "--pmd-cores" -> o.pmdCores = ConfigFiles.parseCpuList(value);
                case "--mode" -> o.mode = PmdConfig.Mode.parse(value);
                case "--idle" -> {
                    if (!List.of("spin", "yield", "park").contains(value)) {
                        throw new IllegalArgumentException("'" + value + "' is not spin, yield or park");
                    }
                    o.idle = value;
                }
                case "--metrics" -> {
                    if (value.equals("off")) {
                        o.metrics = MetricsConfig.off();
                    } else {
                        MetricsConfig.parseListen(value);
                        o.metrics = new MetricsConfig(value);
                    }
                }
                default -> throw new IllegalStateException(name);
            }
        } catch (IllegalArgumentException e) { // InvalidPathException too
            throw new UsageException(name + ": " + e.getMessage());
        }
    }

    /** The file's config with the command line's pmd options on top. */
    static VswitchConfig apply(Options o, VswitchConfig c) {
        PmdConfig p = c.pmd();
        PmdConfig pmd = new PmdConfig(
                o.pmdCores != null ? o.pmdCores : p.cores(),
                o.mode != null ? o.mode : p.mode(),
                o.idle != null ? o.idle : p.idle(),
                p.stages(),
                p.ringSize(),
                p.burst());
        return new VswitchConfig(
                pmd,
                c.bridges(),
                o.metrics != null ? o.metrics : c.metrics(),
                o.stateDirGiven ? o.stateDir.toString() : c.stateDir());
    }

    /** The online CPUs minus the pmd cores (null if that leaves none: the control threads then float). */
    static int[] controlCpus(List<Integer> pmdCores) {
        if (pmdCores.isEmpty()) {
            return null;
        }
        List<Integer> free = new ArrayList<>();
        try {
            for (int cpu : Posix.getAffinity()) {
                if (!pmdCores.contains(cpu)) {
                    free.add(cpu);
                }
            }
        } catch (RuntimeException e) {
            return null;
        }
        return free.isEmpty() ? null : free.stream().mapToInt(Integer::intValue).toArray();
    }

    @SuppressWarnings("restriction")
    private static void onSignal(CountDownLatch stop, Semaphore reload) {
        for (String name : new String[] {"INT", "TERM", "HUP"}) {
            try {
                sun.misc.Signal signal = new sun.misc.Signal(name);
                if (name.equals("HUP")) {
                    // started under nohup: HUP is ignored, and the JVM would leave it so, with
                    // the reload handler accepted below and never run
                    Posix.unignoreSignal(signal.getNumber());
                }
                sun.misc.Signal.handle(signal, s -> {
                    if (name.equals("HUP")) {
                        reload.release(); // the main thread re-reads the file
                    } else {
                        stop.countDown();
                    }
                });
            } catch (IllegalArgumentException e) {
                // signal not available here (e.g. -Xrs): the JVM's default action stays
            }
        }
    }

    private static String oneLine(String s) {
        return s.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
