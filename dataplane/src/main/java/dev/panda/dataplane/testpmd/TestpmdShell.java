package dev.panda.dataplane.testpmd;

import dev.panda.dataplane.fwd.ForwardEngines;
import dev.panda.dataplane.fwd.FwdConfig;
import dev.panda.dataplane.port.PacketBurst;
import java.io.PrintStream;
import java.util.List;

/**
 * The interactive commands, as testpmd spells them. {@link #execute} runs one line and returns
 * false on {@code quit}. Bad input prints testpmd's own one-line answers ("Bad arguments",
 * "Command not found") and changes nothing.
 */
public final class TestpmdShell {

    /** Every command as its words; a word {@code <port>} stands for "all" or a port number. */
    static final List<String> COMMANDS = List.of(
            "start",
            "start tx_first",
            "stop",
            "quit",
            "exit",
            "help",
            "show port stats <port>",
            "show port info <port>",
            "show config fwd",
            "show fwd stats all",
            "clear port stats <port>",
            "clear fwd stats all",
            "set fwd <mode>",
            "set burst",
            "set txpkts",
            "set nbcore");

    private final Testpmd app;
    private final PrintStream out;

    public TestpmdShell(Testpmd app, PrintStream out) {
        this.app = app;
        this.out = out;
    }

    /** Runs one command line; returns false when the user asked to quit. */
    public boolean execute(String line) {
        String[] w = line.trim().split("\\s+");
        if (w.length == 0 || w[0].isEmpty() || w[0].startsWith("#")) {
            return true;
        }
        try {
            switch (w[0]) {
                case "quit", "exit" -> {
                    return false;
                }
                case "help" -> help();
                case "start" -> start(w);
                case "stop" -> app.stop();
                case "show" -> show(w);
                case "clear" -> clear(w);
                case "set" -> set(w);
                default -> out.println("Command not found");
            }
        } catch (BadArguments e) {
            out.println("Bad arguments");
            if (e.hint != null) {
                out.println("  usage: " + e.hint);
            }
        } catch (IllegalArgumentException e) {
            out.println(e.getMessage());
        }
        return true;
    }

    private void start(String[] w) {
        if (w.length == 1) {
            app.start(0);
        } else if (w[1].equals("tx_first") && w.length <= 3) {
            app.start(w.length == 3 ? number(w[2], 1, 1_000_000, "start tx_first [1..1000000]") : 1);
        } else {
            throw new BadArguments("start [tx_first [N]]");
        }
    }

    private void show(String[] w) {
        if (w.length == 4 && w[1].equals("port") && w[2].equals("stats")) {
            forPorts(w[3], app::showPortStats);
        } else if (w.length == 4 && w[1].equals("port") && w[2].equals("info")) {
            forPorts(w[3], app::showPortInfo);
        } else if (w.length == 3 && w[1].equals("config") && w[2].equals("fwd")) {
            app.showConfigFwd();
        } else if (w.length == 4 && w[1].equals("fwd") && w[2].equals("stats") && w[3].equals("all")) {
            app.showForwardStats();
        } else {
            throw new BadArguments("show port stats|info all|N, show config fwd, show fwd stats all");
        }
    }

    private void clear(String[] w) {
        if (w.length == 4 && w[1].equals("port") && w[2].equals("stats")) {
            forPorts(w[3], app::clearPortStats);
        } else if (w.length == 4 && w[1].equals("fwd") && w[2].equals("stats") && w[3].equals("all")) {
            app.clearForwardStats();
        } else {
            throw new BadArguments("clear port stats all|N, clear fwd stats all");
        }
    }

    private void set(String[] w) {
        String usage = "set fwd " + String.join("|", ForwardEngines.names()) + ", set burst 1.." + PacketBurst.MAX_BURST
                + ", set txpkts " + FwdConfig.MIN_TXPKTS + "..9000, set nbcore N";
        if (w.length != 3) {
            throw new BadArguments(usage);
        }
        switch (w[1]) {
            case "fwd" -> {
                if (!ForwardEngines.names().contains(w[2])) {
                    throw new BadArguments("set fwd " + String.join("|", ForwardEngines.names()));
                }
                app.setForwardMode(w[2]);
            }
            case "burst" ->
                app.setBurst(number(w[2], 1, PacketBurst.MAX_BURST, "set burst 1.." + PacketBurst.MAX_BURST));
            case "txpkts" ->
                app.setTxPackets(
                        number(w[2], FwdConfig.MIN_TXPKTS, 9000, "set txpkts " + FwdConfig.MIN_TXPKTS + "..9000"));
            case "nbcore" -> app.setNbCores(number(w[2], 1, 1024, "set nbcore N"));
            default -> throw new BadArguments(usage);
        }
    }

    private interface PortAction {
        void run(int port);
    }

    private void forPorts(String which, PortAction action) {
        if (which.equals("all")) {
            for (int p = 0; p < app.portCount(); p++) {
                action.run(p);
            }
            return;
        }
        int p;
        try {
            p = Integer.parseInt(which);
        } catch (NumberFormatException e) {
            throw new BadArguments("all or a port number 0.." + (app.portCount() - 1));
        }
        if (p < 0 || p >= app.portCount()) {
            out.printf("Invalid port %d%nValid port range is [0, %d]%n", p, app.portCount() - 1);
            return;
        }
        action.run(p);
    }

    private static int number(String s, int min, int max, String usage) {
        try {
            int n = Integer.parseInt(s);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // falls through to the testpmd answer
        }
        throw new BadArguments(usage);
    }

    private void help() {
        out.println("Commands:");
        out.println("  start                      start forwarding");
        out.println("  start tx_first [N]         send N bursts (default 1) on every stream, then forward");
        out.println("  stop                       stop forwarding and show forward statistics");
        out.println("  set fwd MODE               " + String.join("|", ForwardEngines.names()));
        out.println("  set burst N | set txpkts N | set nbcore N");
        out.println("  show port stats all|N      NIC statistics");
        out.println("  clear port stats all|N");
        out.println("  show port info all|N");
        out.println("  show config fwd            streams and lcores of the forwarding configuration");
        out.println("  show fwd stats all         forward statistics since start, without stopping");
        out.println("  clear fwd stats all        forward statistics (cycles, latency too) start from zero");
        out.println("  quit | exit");
        for (ForwardEngines.Mode m : ForwardEngines.modes()) {
            out.printf("  fwd %-9s %s%n", m.name(), m.help());
        }
    }

    /** testpmd's "Bad arguments", with the usage of the command that was meant. */
    private static final class BadArguments extends RuntimeException {
        final String hint;

        BadArguments(String hint) {
            super(hint, null, false, false);
            this.hint = hint;
        }
    }
}
