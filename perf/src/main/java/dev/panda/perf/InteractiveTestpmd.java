package dev.panda.perf;

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * dpdk-testpmd in interactive mode ({@code -i}), driven through its stdin: a command is written,
 * and its answer is the output up to the next {@code testpmd> } prompt. Started with a private
 * file prefix; closed with {@code quit} (SIGTERM, then SIGKILL, if it does not leave), and its
 * hugepage files and run directory removed afterwards.
 */
final class InteractiveTestpmd implements AutoCloseable {

    private static final String PROMPT = "testpmd> ";
    private static final Pattern PORT_RX =
            Pattern.compile("NIC statistics for port (\\d+)\\s+#+\\s+RX-packets:\\s+(\\d+)");
    private static final Pattern CYCLES = Pattern.compile("CPU cycles/packet=([0-9.]+)");

    private final String prefix;
    private final Process process;
    private final OutputStream stdin;
    private final StringBuilder out = new StringBuilder();
    private final Thread reader;
    private int prompts;
    private int scanned;

    /** Starts testpmd with {@code eal}, {@code --file-prefix}, then {@code -- -i} and {@code app}. */
    InteractiveTestpmd(String prefix, List<String> eal, List<String> app) throws IOException {
        this.prefix = prefix;
        List<String> cmd = new ArrayList<>(List.of("stdbuf", "-o0", DpdkProcess.TESTPMD, "--file-prefix", prefix));
        cmd.addAll(eal);
        cmd.add("--");
        cmd.add("-i");
        cmd.addAll(app);
        process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        stdin = process.getOutputStream();
        reader = Thread.ofPlatform().daemon(true).name("testpmd-" + prefix).start(this::read);
    }

    private void read() {
        char[] buf = new char[8192];
        try (Reader r = new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)) {
            int n;
            while ((n = r.read(buf)) > 0) {
                synchronized (this) {
                    out.append(buf, 0, n);
                    int at;
                    while ((at = out.indexOf(PROMPT, scanned)) >= 0) {
                        prompts++;
                        scanned = at + PROMPT.length();
                    }
                    notifyAll();
                }
            }
        } catch (IOException e) {
            // the process ended
        }
        synchronized (this) {
            notifyAll();
        }
    }

    /** Waits for the first prompt: EAL and the ports are up (virtio-user servers have their peers). */
    synchronized void awaitPrompt(long deadlineNanos) throws IOException, InterruptedException {
        awaitPrompts(1, deadlineNanos, "the first prompt");
    }

    private void awaitPrompts(int count, long deadlineNanos, String what) throws IOException, InterruptedException {
        while (prompts < count) {
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0 || !process.isAlive()) {
                throw new IOException("dpdk-testpmd (" + prefix + ") gave no answer to " + what
                        + (process.isAlive() ? "" : " and exited") + "; its output:\n" + log());
            }
            wait(Math.max(1, Math.min(100, TimeUnit.NANOSECONDS.toMillis(left))));
        }
    }

    /** Runs one command and returns what testpmd printed before its next prompt. */
    synchronized String command(String command, int timeoutSeconds) throws IOException, InterruptedException {
        int from = out.length();
        int want = prompts + 1;
        stdin.write((command + "\n").getBytes(StandardCharsets.US_ASCII));
        stdin.flush();
        awaitPrompts(want, System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds), "'" + command + "'");
        return out.substring(from, Math.max(from, scanned - PROMPT.length()));
    }

    /** RX-packets of every port from {@code show port stats all}, in port order. */
    long[] rxPackets() throws IOException, InterruptedException {
        String s = command("show port stats all", 10);
        List<Long> v = new ArrayList<>();
        Matcher m = PORT_RX.matcher(s);
        while (m.find()) {
            v.add(Long.parseLong(m.group(2)));
        }
        if (v.isEmpty()) {
            throw new IOException("no port statistics in dpdk-testpmd's answer:\n" + s);
        }
        return v.stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * The busy cycles per packet of {@code show fwd stats all} since {@code clear fwd stats all}
     * (testpmd started with {@code --record-core-cycles}), or NaN if it printed none.
     */
    double cyclesPerPacket() throws IOException, InterruptedException {
        Matcher m = CYCLES.matcher(command("show fwd stats all", 10));
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    boolean alive() {
        return process.isAlive();
    }

    /** The last 20,000 characters it printed. */
    synchronized String log() {
        return out.substring(Math.max(0, out.length() - 20_000));
    }

    @Override
    public void close() throws IOException, InterruptedException {
        try {
            if (process.isAlive()) {
                stdin.write("stop\nquit\n".getBytes(StandardCharsets.US_ASCII));
                stdin.flush();
            }
        } catch (IOException e) {
            // it has gone already
        }
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor();
            }
        }
        reader.join(2000);
        DpdkProcess.removeLeftovers(prefix);
    }
}
