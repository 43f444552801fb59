package dev.panda.perf.report;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * The report's progress on the terminal: what runs now, how far the whole is, and the time left
 * estimated from each section's runs times their expected length (corrected by how long the runs
 * so far really took). On a terminal it is one line redrawn in place with {@code \r} every second,
 * cleared before any result line is printed; otherwise each run start is one plain line.
 */
public final class Progress implements RunObserver, AutoCloseable {

    private static final int WIDTH = 24;

    private final PrintStream out;
    private final boolean tty;
    private final double total;
    private final long t0 = System.nanoTime();
    private final Thread ticker;
    private double doneEstimate;
    private double doneActual;
    private double sectionStartEstimate;
    private double perRun;
    private String current = "starting";
    private double stepEstimate;
    private long stepStart = System.nanoTime();
    private boolean shown;
    private volatile boolean closed;

    /** {@code totalEstimateSeconds}: the sum of every section's runs times their expected length. */
    public Progress(PrintStream out, boolean tty, double totalEstimateSeconds) {
        this.out = out;
        this.tty = tty;
        this.total = Math.max(1, totalEstimateSeconds);
        this.ticker = Thread.ofPlatform().daemon(true).name("report-progress").unstarted(this::tick);
        if (tty) {
            ticker.start();
        }
    }

    /** Whether standard output is a terminal (then the bar is drawn in place). */
    public static boolean stdoutIsTerminal() {
        var c = System.console();
        return c != null && c.isTerminal();
    }

    /** A comparison begins whose runs take about {@code secondsPerRun} each. */
    public synchronized void section(double secondsPerRun) {
        perRun = secondsPerRun;
        sectionStartEstimate = doneEstimate;
        stepEstimate = 0;
    }

    /** The section ended (finished, failed or cut short): its whole estimate counts as done. */
    public synchronized void endSection(double sectionEstimate) {
        doneEstimate = sectionStartEstimate + sectionEstimate;
        doneActual = (System.nanoTime() - t0) / 1e9;
        stepEstimate = 0;
    }

    @Override
    public synchronized void starting(String what) {
        doneEstimate += stepEstimate;
        doneActual = (System.nanoTime() - t0) / 1e9;
        current = what;
        stepEstimate = perRun;
        stepStart = System.nanoTime();
        if (tty) {
            draw();
        } else {
            out.println("  [" + status() + "] " + what);
        }
    }

    /** Prints a whole line (a result), above the bar on a terminal. */
    public synchronized void line(String s) {
        clear();
        out.println(s);
        if (tty && !closed) {
            draw();
        }
    }

    /** A stream whose every completed line goes through {@link #line}. */
    public PrintStream lines() {
        return new PrintStream(
                new OutputStream() {
                    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

                    @Override
                    public void write(int b) {
                        if (b == '\n') {
                            line(buf.toString(StandardCharsets.UTF_8));
                            buf.reset();
                        } else {
                            buf.write(b);
                        }
                    }
                },
                true,
                StandardCharsets.UTF_8);
    }

    /** "42%, 3:10 elapsed, ~2:05 left". */
    synchronized String status() {
        double inStep = Math.min((System.nanoTime() - stepStart) / 1e9, stepEstimate);
        double done = doneEstimate + inStep;
        // once 10 s of runs are done,, how much longer (or shorter) they took than estimated
        double factor = doneActual > 10 && doneEstimate > 10 ? Math.clamp(doneActual / doneEstimate, 0.5, 3.0) : 1.0;
        double left = Math.max(0, total - done) * factor;
        return String.format(
                "%3d%%, %s elapsed, ~%s left",
                (int) Math.min(100, done * 100 / total), clock((System.nanoTime() - t0) / 1e9), clock(left));
    }

    private synchronized String bar() {
        double inStep = Math.min((System.nanoTime() - stepStart) / 1e9, stepEstimate);
        int filled = (int) Math.min(WIDTH, (doneEstimate + inStep) * WIDTH / total);
        return "[" + "#".repeat(filled) + "-".repeat(WIDTH - filled) + "] " + status() + "  " + current;
    }

    public static String clock(double seconds) {
        long s = Math.round(seconds);
        return s / 60 + ":" + String.format("%02d", s % 60);
    }

    private void draw() {
        String b = bar();
        out.print("\r\033[K" + (b.length() > 160 ? b.substring(0, 160) : b));
        out.flush();
        shown = true;
    }

    private void clear() {
        if (shown) {
            out.print("\r\033[K");
            shown = false;
        }
    }

    private void tick() {
        while (!closed) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (this) {
                if (!closed) {
                    draw();
                }
            }
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        ticker.interrupt();
        clear();
        out.flush();
    }
}
