package dev.panda.dataplane.testpmd;

import dev.panda.dataplane.fwd.ForwardEngines;
import dev.panda.dataplane.port.PortDriver;
import dev.panda.dataplane.port.Ports;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jline.reader.Completer;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.completer.AggregateCompleter;
import org.jline.reader.impl.completer.ArgumentCompleter;
import org.jline.reader.impl.completer.NullCompleter;
import org.jline.reader.impl.completer.StringsCompleter;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;

/** {@code panda testpmd}: parses the command line, then runs interactively or until stopped. */
public final class TestpmdMain {

    private static final String PROMPT = "testpmd> ";

    private TestpmdMain() {}

    public static void main(String[] args) {
        System.exit(run(args, System.in, System.out, System.err, isTerminal()));
    }

    private static boolean isTerminal() {
        return System.console() != null && System.console().isTerminal();
    }

    /**
     * Runs testpmd and returns the exit code: 0, or {@link UsageException#EXIT_CODE} for a bad
     * command line or device string (nothing is left running).
     */
    public static int run(String[] args, InputStream in, PrintStream out, PrintStream err, boolean terminal) {
        TestpmdOptions o;
        try {
            o = TestpmdOptions.parse(args);
        } catch (UsageException e) {
            err.println("panda testpmd: " + e.getMessage());
            return UsageException.EXIT_CODE;
        }
        if (o.help) {
            usage(out);
            return 0;
        }
        if (o.ignoredNote() != null) {
            out.println(o.ignoredNote());
        }
        if (o.interactive) {
            out.println("Interactive-mode selected");
        }
        Testpmd app;
        try {
            app = Testpmd.open(o, out);
        } catch (UsageException e) {
            err.println("panda testpmd: " + e.getMessage());
            return UsageException.EXIT_CODE;
        }
        try (app) {
            if (o.interactive) {
                if (o.autoStart) {
                    out.println("Start automatic packet forwarding");
                    app.start(o.txFirst ? 1 : 0);
                }
                interact(app, in, out, terminal);
            } else {
                runUntilStopped(app, o, in, out);
            }
        }
        return 0;
    }

    private static void interact(Testpmd app, InputStream in, PrintStream out, boolean terminal) {
        TestpmdShell shell = new TestpmdShell(app, out);
        if (terminal) {
            try (Terminal t = TerminalBuilder.builder().system(true).build()) {
                LineReader reader = LineReaderBuilder.builder()
                        .terminal(t)
                        .appName("panda-testpmd")
                        .completer(completer(app.portCount()))
                        .variable(LineReader.HISTORY_FILE, Path.of(home(), ".panda_testpmd_history"))
                        .build();
                while (true) {
                    String line;
                    try {
                        line = reader.readLine(PROMPT);
                    } catch (UserInterruptException e) {
                        continue;
                    } catch (EndOfFileException e) {
                        break;
                    }
                    if (!shell.execute(line)) {
                        break;
                    }
                }
                return;
            } catch (IOException e) {
                out.println("panda: no terminal (" + e.getMessage() + "), reading commands line by line");
            }
        }
        // A pipe or file: echo each command after the prompt, as testpmd does, so logs read alike.
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        try {
            while (true) {
                out.print(PROMPT);
                String line = r.readLine();
                if (line == null) {
                    out.println();
                    break;
                }
                out.println(line);
                if (!shell.execute(line)) {
                    break;
                }
            }
        } catch (IOException e) {
            out.println("panda: reading commands failed: " + e.getMessage());
        }
    }

    /** Word-by-word completion of every command, with port numbers and mode names where they go. */
    private static Completer completer(int ports) {
        List<String> portChoices = new ArrayList<>(List.of("all"));
        for (int p = 0; p < ports; p++) {
            portChoices.add(Integer.toString(p));
        }
        List<Completer> commands = new ArrayList<>();
        for (String command : TestpmdShell.COMMANDS) {
            List<Completer> words = new ArrayList<>();
            for (String w : command.split(" ")) {
                words.add(
                        switch (w) {
                            case "<port>" -> new StringsCompleter(portChoices);
                            case "<mode>" -> new StringsCompleter(ForwardEngines.names());
                            default -> new StringsCompleter(w);
                        });
            }
            words.add(NullCompleter.INSTANCE);
            commands.add(new ArgumentCompleter(words));
        }
        return new AggregateCompleter(commands);
    }

    private static String home() {
        String h = System.getenv("HOME");
        return h != null && !h.isEmpty() ? h : System.getProperty("user.home");
    }

    private static void runUntilStopped(Testpmd app, TestpmdOptions o, InputStream in, PrintStream out) {
        CountDownLatch quit = new CountDownLatch(1);
        Signals.onInterrupt(sig -> {
            out.printf("%nSignal %d received, preparing to exit...%n", sig);
            quit.countDown();
        });
        if (o.txFirst) {
            out.println("Ports to start sending a burst of packets first");
        }
        out.println("No commandline core given, start packet forwarding");
        app.start(o.txFirst ? 1 : 0);
        long deadline = o.runTimeSeconds > 0 ? System.nanoTime() + (long) (o.runTimeSeconds * 1e9) : Long.MAX_VALUE;
        try {
            if (o.statsPeriod > 0) {
                boolean tty = isTerminal();
                long period = o.statsPeriod * 1_000_000_000L;
                while (!await(quit, Math.min(period, deadline - System.nanoTime()))) {
                    if (tty) {
                        out.print("\033[2J\033[1;1H");
                    }
                    out.printf("%nPort statistics ====================================");
                    for (int p = 0; p < app.portCount(); p++) {
                        app.showPortStats(p);
                    }
                    if (System.nanoTime() >= deadline) {
                        break;
                    }
                }
            } else if (deadline != Long.MAX_VALUE) {
                await(quit, deadline - System.nanoTime());
            } else {
                out.println("Press enter to exit");
                Thread reader = Thread.ofPlatform().daemon(true).start(() -> {
                    try {
                        in.read();
                    } catch (IOException ignored) {
                        // treated as enter
                    }
                    quit.countDown();
                });
                await(quit, Long.MAX_VALUE);
                reader.interrupt();
            }
        } finally {
            app.stop();
        }
    }

    /** Waits up to {@code nanos}; true if {@code latch} opened. */
    private static boolean await(CountDownLatch latch, long nanos) {
        if (nanos <= 0) {
            return latch.getCount() == 0;
        }
        try {
            return latch.await(nanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    static void usage(PrintStream out) {
        out.println("usage: panda testpmd [EAL options] -- [application options]");
        out.println();
        out.println("EAL options:");
        out.println("  -l CORELIST | --lcores MAP | -c MASK   lcores; the first is the main one, the rest forward");
        out.println("  --vdev DEVICE                          a port, e.g. net_ring0, 'net_pcap0,rx_pcap=in.pcap'");
        out.println("  -m MB | --socket-mem MB                cap the packet pool's memory");
        out.println("  --no-huge                              4 KiB pages instead of hugepages");
        out.println("  --no-pci --file-prefix --single-file-segments --in-memory --log-level ...  accepted, no effect");
        out.println();
        out.println("Application options:");
        for (String[] a : TestpmdOptions.APP_OPTIONS) {
            out.printf("  %-25s %s%n", a[0], a[1]);
        }
        out.println();
        out.println("Interactive commands: start, start tx_first [N], stop, set fwd MODE, set burst|txpkts|nbcore N,");
        out.println(
                "  show port stats|info all|N, clear port stats all|N, show config fwd, show|clear fwd stats all, help,"
                        + " quit");
        out.println();
        out.println("Forwarding modes:");
        for (ForwardEngines.Mode m : ForwardEngines.modes()) {
            out.printf("  %-9s %s%n", m.name(), m.help());
        }
        out.println();
        out.println("Drivers:");
        for (PortDriver d : Ports.discover().drivers()) {
            out.printf(
                    "  %-16s %s (keys: %s)%n",
                    d.name(), d.description(), String.join(", ", new java.util.TreeSet<>(d.keys())));
        }
        out.println();
        out.println("Rx filters (--rx-filter):");
        for (dev.panda.dataplane.filter.RxFilterProvider f :
                dev.panda.dataplane.filter.RxFilters.discover().providers()) {
            out.printf("  %-16s %s%n", f.name(), f.usage());
        }
    }
}
