package dev.panda.perf;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One dpdk-testpmd run for a benchmark: started with a private file prefix, its output read on
 * a thread, stopped with SIGINT, and its hugepage files and run directory removed afterwards.
 */
public final class DpdkProcess implements AutoCloseable {

    static final String TESTPMD = "/usr/bin/dpdk-testpmd";
    private static final Pattern RX_PPS = Pattern.compile("Rx-pps:\\s+(\\d+)");

    private final String prefix;
    private final Process process;
    private final List<Long> rxPps = new ArrayList<>();
    private final StringBuilder log = new StringBuilder();
    /** The last --record-core-cycles figure printed (the log keeps only its first 20,000 characters). */
    private double cyclesPerPacket = Double.NaN;

    private final Thread reader;

    /** Starts testpmd with {@code eal} options, {@code --file-prefix} added, then {@code --} and {@code app}. */
    DpdkProcess(String prefix, List<String> eal, List<String> app) throws IOException {
        this.prefix = prefix;
        List<String> cmd = new ArrayList<>(List.of("stdbuf", "-oL", TESTPMD, "--file-prefix", prefix));
        cmd.addAll(eal);
        cmd.add("--");
        cmd.addAll(app);
        process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        reader = Thread.ofPlatform().daemon(true).start(this::read);
    }

    static boolean available() {
        return Files.isExecutable(Path.of(TESTPMD));
    }

    private void read() {
        try (BufferedReader r =
                new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                synchronized (this) {
                    if (log.length() < 20_000) {
                        log.append(line).append('\n');
                    }
                    Matcher c = Measured.CORE_CYCLES.matcher(line);
                    if (c.find()) {
                        cyclesPerPacket = Double.parseDouble(c.group(1));
                    }
                    Matcher m = RX_PPS.matcher(line);
                    if (m.find()) {
                        rxPps.add(Long.parseLong(m.group(1)));
                    }
                }
            }
        } catch (IOException e) {
            // the process ended
        }
    }

    /**
     * The busy cycles per packet testpmd printed with {@code --record-core-cycles} (at exit: read it
     * after {@link #close}), NaN if none.
     */
    synchronized double cyclesPerPacket() {
        return cyclesPerPacket;
    }

    /** Rx-pps figures printed so far by {@code --stats-period} (one per port per period). */
    synchronized List<Long> rxPps() {
        return List.copyOf(rxPps);
    }

    synchronized String log() {
        return log.toString();
    }

    /** Waits until this testpmd has created {@code file} (a vhost-user socket), or fails with its output. */
    void awaitFile(Path file, long deadlineNanos) throws IOException, InterruptedException {
        while (!Files.exists(file)) {
            if (System.nanoTime() > deadlineNanos || !alive()) {
                throw new IOException("dpdk-testpmd did not create " + file + "; its output:\n" + log());
            }
            Thread.sleep(20);
        }
    }

    boolean alive() {
        return process.isAlive();
    }

    @Override
    public void close() throws IOException, InterruptedException {
        // SIGINT: testpmd stops forwarding, prints its statistics (and --record-core-cycles' line)
        // and exits. Started from this JVM, it dies on SIGTERM without printing them.
        if (process.isAlive()) {
            new ProcessBuilder("kill", "-INT", Long.toString(process.pid()))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start()
                    .waitFor();
        }
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor();
            }
        }
        reader.join(2000);
        removeLeftovers(prefix);
    }

    /** testpmd leaves /dev/hugepages/PREFIXmap_* and /var/run/dpdk/PREFIX behind; nothing else uses them. */
    public static void removeLeftovers(String prefix) throws IOException {
        Path huge = Path.of("/dev/hugepages");
        if (Files.isDirectory(huge)) {
            try (var files = Files.list(huge)) {
                for (Path p : files.filter(p -> p.getFileName().toString().startsWith(prefix + "map_"))
                        .toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
        Path run = Path.of("/var/run/dpdk", prefix);
        if (Files.isDirectory(run)) {
            try (var files = Files.walk(run)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
