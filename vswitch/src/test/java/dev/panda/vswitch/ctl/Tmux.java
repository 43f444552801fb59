package dev.panda.vswitch.ctl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A tmux server of the test's own ({@code tmux -L NAME}, no config file) with one session of a
 * given size running bash; {@link #close()} kills that server only.
 */
final class Tmux implements AutoCloseable {

    private static final AtomicInteger RUN = new AtomicInteger();

    final String server = "panda-top-" + ProcessHandle.current().pid() + "-" + RUN.incrementAndGet();

    Tmux(int cols, int rows) throws IOException {
        Result r = run(
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "top",
                "-x",
                Integer.toString(cols),
                "-y",
                Integer.toString(rows),
                "bash --norc --noprofile");
        if (r.status != 0) {
            throw new IllegalStateException(
                    "tmux would not start (is it installed? scripts/setup installs it): " + r.output);
        }
        run("set-option", "-g", "status", "off");
    }

    /** Types {@code text} literally, then Enter. */
    void type(String text) throws IOException {
        check(run("send-keys", "-t", "top", "-l", text));
        check(run("send-keys", "-t", "top", "Enter"));
    }

    /** Sends keys by tmux's names ({@code Down}, {@code Enter}, {@code Escape}, or a letter). */
    void keys(String... keys) throws IOException {
        List<String> a = new ArrayList<>(List.of("send-keys", "-t", "top"));
        a.addAll(List.of(keys));
        check(run(a.toArray(String[]::new)));
    }

    /** The visible pane, one string per line. */
    List<String> screen() throws IOException {
        Result r = run("capture-pane", "-p", "-t", "top");
        check(r);
        return r.output.lines().toList();
    }

    /** A tmux format of the pane: {@code #{alternate_on}}, {@code #{cursor_flag}}... */
    String format(String f) throws IOException {
        Result r = run("display-message", "-p", "-t", "top", f);
        check(r);
        return r.output.strip();
    }

    /** Waits up to {@code seconds} for the screen to satisfy {@code p}; fails with the last screen. */
    List<String> await(String what, double seconds, Predicate<List<String>> p) throws Exception {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        List<String> s;
        do {
            s = screen();
            if (p.test(s)) {
                return s;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < end);
        throw new AssertionError("waited " + seconds + " s for " + what + "; the screen:\n" + String.join("\n", s));
    }

    record Result(int status, String output) {}

    Result run(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("tmux", "-L", server));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, o);
            }
            return new Result(p.exitValue(), o);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static void check(Result r) {
        if (r.status != 0) {
            throw new IllegalStateException("tmux failed (" + r.status + "): " + r.output);
        }
    }

    @Override
    public void close() throws IOException {
        run("kill-server");
    }
}
