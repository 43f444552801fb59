package dev.panda.vswitch.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.vswitch.control.ControlServer;
import dev.panda.vswitch.control.Json;
import dev.panda.vswitch.ctl.TopModel.SortKey;
import dev.panda.vswitch.ctl.TopState.Op;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jline.keymap.BindingReader;
import org.jline.keymap.KeyMap;
import org.jline.terminal.Attributes;
import org.jline.terminal.Size;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jline.utils.AttributedString;
import org.jline.utils.InfoCmp.Capability;
import org.jline.utils.NonBlockingReader;

/**
 * {@code panda top [--control PATH] [--interval S] [--sort KEY] [--once]}: a live view of a running
 * vswitch, read from its control socket every interval (per port rates and drops, per poller busy
 * share and cycles per packet, pipeline ring backlog, FDB sizes); {@code --once} prints the rates
 * between two samples an interval apart and exits. A bad argument or no vswitch answering prints one
 * line on stderr and exits 2.
 */
public final class TopMain {

    static final String USAGE = """
            usage: panda top [--control PATH] [--interval SECONDS] [--sort KEY] [--once]
            --control PATH      the vswitch's control socket (default %s)
            --interval SECONDS  time between samples, 0.1..3600 (default 1)
            --sort KEY          order of the ports: %s (default rx-pps)
            --once              take two samples an interval apart, print the rates once, exit
            keys: q quit, j/k or Up/Down select a port, Enter its detail (Esc back),
                  n r t R T d sort by name, rx-pps, tx-pps, rx-bps, tx-bps, drops; s next sort key
            """.formatted(ControlServer.DEFAULT_PATH, SortKey.names());

    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

    private TopMain() {}

    /** A refused command line. */
    private static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        Path socket = Path.of(ControlServer.DEFAULT_PATH);
        double interval = 1;
        SortKey sort = SortKey.RX_PPS;
        boolean once = false;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                String value = null;
                int eq = a.indexOf('=');
                if (a.startsWith("--") && eq > 0) {
                    value = a.substring(eq + 1);
                    a = a.substring(0, eq);
                }
                switch (a) {
                    case "-h", "--help", "help" -> {
                        out.print(USAGE);
                        return 0;
                    }
                    case "--once" -> {
                        if (value != null) {
                            throw new UsageException("--once takes no value");
                        }
                        once = true;
                    }
                    case "--control", "--interval", "--sort" -> {
                        if (value == null) {
                            if (i + 1 >= args.length) {
                                throw new UsageException(a + " needs a value");
                            }
                            value = args[++i];
                        }
                        switch (a) {
                            case "--control" -> socket = Path.of(value);
                            case "--interval" -> interval = seconds(value);
                            default -> {
                                sort = SortKey.of(value);
                                if (sort == null) {
                                    throw new UsageException(
                                            "--sort: unknown key '" + value + "'; keys: " + SortKey.names());
                                }
                            }
                        }
                    }
                    default -> throw new UsageException("unknown option " + a + " (see panda top --help)");
                }
            }
        } catch (UsageException | InvalidPathException e) {
            err.println("panda top: " + e.getMessage());
            return 2;
        }
        CtlClient client = new CtlClient(socket, CALL_TIMEOUT);
        TopModel.Sample first;
        try {
            first = sample(client);
        } catch (IOException e) {
            err.println("panda top: " + failure(client, e));
            return 2;
        }
        if (once) {
            return once(client, first, interval, sort, out, err);
        }
        if (!(System.console() != null && System.console().isTerminal())) {
            err.println("panda top: not a terminal; use --once to print the rates once");
            return 2;
        }
        try {
            new Live(client, first, interval, sort).run();
            return 0;
        } catch (IOException e) {
            err.println("panda top: the terminal failed: " + e.getMessage());
            return 2;
        }
    }

    /** The second sample an interval after the first's {@code ports/stats} call, and the rates. */
    private static int once(
            CtlClient client, TopModel.Sample first, double interval, SortKey sort, PrintStream out, PrintStream err) {
        TopModel.Sample second;
        try {
            Thread.sleep(
                    Duration.ofNanos(Math.max(0, first.portsNanos() + (long) (interval * 1e9) - System.nanoTime())));
            second = sample(client);
        } catch (IOException e) {
            err.println("panda top: " + failure(client, e));
            return 2;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 2;
        }
        out.print(TopRender.once(
                TopModel.compute(first, second), sort, client.socket().toString()));
        out.flush();
        return 0;
    }

    private static double seconds(String v) {
        try {
            double s = Double.parseDouble(v);
            if (s >= 0.1 && s <= 3600) {
                return s;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new UsageException("--interval: '" + v + "' is not a number of seconds (0.1..3600)");
    }

    /** One sample: {@code show}, {@code ports/stats}, {@code pmd-stats}, each timed. */
    static TopModel.Sample sample(CtlClient c) throws IOException {
        JsonNode show = get(c, "/v1/show");
        long t0 = System.nanoTime();
        JsonNode stats = get(c, "/v1/ports/stats");
        long t1 = System.nanoTime();
        JsonNode pmd = get(c, "/v1/pmd-stats");
        long t2 = System.nanoTime();
        return TopModel.Sample.parse(show, stats, pmd, t0 + (t1 - t0) / 2, t1 + (t2 - t1) / 2);
    }

    private static JsonNode get(CtlClient c, String path) throws IOException {
        CtlClient.Answer a = c.call("GET", path, null, null);
        if (a.status() != 200) {
            throw new IOException("GET " + path + " was answered " + a.status() + error(a));
        }
        try {
            return Json.MAPPER.readTree(a.body());
        } catch (IOException e) {
            throw new TopModel.MalformedException("the vswitch's answer to GET " + path + " is not JSON");
        }
    }

    private static String error(CtlClient.Answer a) {
        try {
            JsonNode n = Json.MAPPER.readTree(a.body());
            if (n != null && n.hasNonNull("error")) {
                return ": " + TopModel.printable(n.get("error").asText(), 300);
            }
        } catch (IOException e) {
            // not JSON
        }
        return "";
    }

    private static String failure(CtlClient c, IOException e) {
        return e instanceof CtlClient.NotRunningException ? e.getMessage() : c.socket() + ": " + e.getMessage();
    }

    /** The live screen on the system terminal, until q, Ctrl-C, SIGTERM or the end of input. */
    private static final class Live {
        private final CtlClient client;
        private final double interval;
        private final TopState state;
        private TopModel.Sample last;
        private TopModel.View view;
        private String status;
        private volatile boolean resized;
        private List<AttributedString> shown = List.of();
        private final AtomicBoolean stop = new AtomicBoolean();

        Live(CtlClient client, TopModel.Sample first, double interval, SortKey sort) {
            this.client = client;
            this.interval = interval;
            this.state = new TopState(sort);
            this.last = first;
            this.view = TopModel.compute(null, first);
        }

        void run() throws IOException {
            String stty = stty("-g"); // to restore exactly: JLine's own restore leaves the line speed 0
            Terminal t = TerminalBuilder.builder()
                    .system(true)
                    .dumb(false)
                    .nativeSignals(true)
                    .build();
            Attributes saved = t.enterRawMode();
            AtomicBoolean restored = new AtomicBoolean();
            Runnable restore = () -> {
                if (restored.compareAndSet(false, true)) {
                    if (!t.puts(Capability.exit_ca_mode)) {
                        t.puts(Capability.clear_screen);
                    }
                    t.puts(Capability.keypad_local);
                    t.puts(Capability.cursor_normal);
                    t.writer().flush();
                    t.setAttributes(saved);
                    if (stty != null) {
                        stty(stty);
                    }
                }
            };
            // SIGTERM and SIGHUP run shutdown hooks: the terminal is given back as it was
            Thread hook = new Thread(restore, "panda-top-restore");
            Runtime.getRuntime().addShutdownHook(hook);
            try {
                t.handle(Terminal.Signal.INT, s -> stop.set(true));
                t.handle(Terminal.Signal.WINCH, s -> resized = true);
                if (!t.puts(Capability.enter_ca_mode)) {
                    t.puts(Capability.clear_screen);
                }
                t.puts(Capability.keypad_xmit);
                t.puts(Capability.cursor_invisible);
                t.writer().flush();
                loop(t);
            } finally {
                restore.run();
                t.close();
                if (stty != null) {
                    stty(stty); // again: closing sets JLine's idea of the original settings
                }
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException e) {
                    // shutting down already
                }
            }
        }

        /**
         * Runs {@code stty ARG} on the controlling terminal; its output (for {@code -g}: the
         * settings in a form stty takes back), or null if stty failed.
         */
        private static String stty(String arg) {
            try {
                Process p = new ProcessBuilder("stty", arg)
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/tty")))
                        .redirectError(ProcessBuilder.Redirect.DISCARD)
                        .start();
                String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                return p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0 ? o.strip() : null;
            } catch (IOException e) {
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }

        private void loop(Terminal t) throws IOException {
            BindingReader reader = new BindingReader(t.reader());
            KeyMap<Op> keys = keys(t);
            long period = (long) (interval * 1e9);
            long next = System.nanoTime() + period;
            boolean dirty = true;
            boolean full = true;
            while (!stop.get() && !state.quit) {
                if (resized) {
                    resized = false;
                    full = true;
                }
                if (dirty || full) {
                    draw(t, full);
                    dirty = false;
                    full = false;
                }
                long wait = Math.min(100, Math.max(1, (next - System.nanoTime()) / 1_000_000));
                int c = reader.peekCharacter(wait);
                if (c == NonBlockingReader.EOF) {
                    break;
                }
                if (c != NonBlockingReader.READ_EXPIRED) {
                    Op op = reader.readBinding(keys, null, false);
                    if (op != null) {
                        List<TopModel.PortRow> rows = TopModel.sorted(view.ports(), state.sort);
                        state.apply(op, rows, Math.max(1, t.getHeight() / 2));
                        full |= op == Op.REDRAW;
                        dirty = true;
                    }
                }
                if (System.nanoTime() - next >= 0) {
                    refresh();
                    long now = System.nanoTime();
                    next += period;
                    if (now - next >= 0) {
                        next = now + period; // fell behind (a slow answer): start the period again
                    }
                    dirty = true;
                }
            }
        }

        private void refresh() {
            try {
                TopModel.Sample s = sample(client);
                view = TopModel.compute(last, s);
                last = s;
                status = null;
            } catch (IOException e) {
                status = "vswitch not answering (" + failure(client, e) + "); trying again every "
                        + String.format(Locale.ROOT, "%.1f", interval) + " s";
            }
        }

        /**
         * Paints the screen: each line that differs from what is shown goes to its row (cursor
         * addressing, then erase to the end of the line unless the line fills it); {@code full}
         * clears the screen first.
         */
        private void draw(Terminal t, boolean full) {
            Size size = t.getSize();
            int rows = size.getRows() > 0 ? size.getRows() : 24;
            int cols = size.getColumns() > 0 ? size.getColumns() : 80;
            List<AttributedString> lines = TopRender.screen(
                    view,
                    state,
                    new TopRender.Frame(
                            client.socket().toString(),
                            interval,
                            LocalTime.now().format(CLOCK),
                            status,
                            rows,
                            cols));
            if (full) {
                t.puts(Capability.clear_screen);
                shown = List.of();
            }
            for (int i = 0; i < rows; i++) {
                AttributedString l = i < lines.size() ? lines.get(i) : AttributedString.EMPTY;
                if (i < shown.size() && shown.get(i).equals(l)) {
                    continue;
                }
                t.puts(Capability.cursor_address, i, 0);
                t.writer().write(l.toAnsi(t));
                if (l.columnLength() < cols) {
                    t.puts(Capability.clr_eol);
                }
            }
            shown = lines;
            t.flush();
        }

        private static KeyMap<Op> keys(Terminal t) {
            KeyMap<Op> k = new KeyMap<>();
            bind(k, Op.QUIT, "q", "Q", KeyMap.ctrl('C'));
            bind(k, Op.UP, "k", KeyMap.key(t, Capability.key_up), "\033[A", "\033OA");
            bind(k, Op.DOWN, "j", KeyMap.key(t, Capability.key_down), "\033[B", "\033OB");
            bind(k, Op.PAGE_UP, KeyMap.key(t, Capability.key_ppage), "\033[5~", KeyMap.ctrl('B'));
            bind(k, Op.PAGE_DOWN, KeyMap.key(t, Capability.key_npage), "\033[6~", KeyMap.ctrl('F'), " ");
            bind(k, Op.FIRST, "g", KeyMap.key(t, Capability.key_home), "\033[H", "\033OH", "\033[1~");
            bind(k, Op.LAST, "G", KeyMap.key(t, Capability.key_end), "\033[F", "\033OF", "\033[4~");
            bind(k, Op.DETAIL, "\r", "\n", KeyMap.key(t, Capability.key_right), "\033[C", "\033OC", "l");
            bind(
                    k,
                    Op.BACK,
                    KeyMap.esc(),
                    KeyMap.del(),
                    "\b",
                    "h",
                    KeyMap.key(t, Capability.key_backspace),
                    KeyMap.key(t, Capability.key_left),
                    "\033[D",
                    "\033OD");
            bind(k, Op.NEXT_SORT, "s");
            bind(k, Op.SORT_NAME, "n");
            bind(k, Op.SORT_RX_PPS, "r");
            bind(k, Op.SORT_TX_PPS, "t");
            bind(k, Op.SORT_RX_BPS, "R");
            bind(k, Op.SORT_TX_BPS, "T");
            bind(k, Op.SORT_DROPS, "d");
            bind(k, Op.REDRAW, KeyMap.ctrl('L'));
            k.setNomatch(Op.REDRAW);
            k.setAmbiguousTimeout(150);
            return k;
        }

        private static void bind(KeyMap<Op> k, Op op, String... seqs) {
            for (String s : seqs) {
                if (s != null && !s.isEmpty()) {
                    k.bind(op, s);
                }
            }
        }
    }
}
