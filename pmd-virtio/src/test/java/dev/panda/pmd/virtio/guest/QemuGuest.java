package dev.panda.pmd.virtio.guest;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A QEMU guest for peer tests: Debian's qemu-system-x86_64 under TCG booting the host's kernel
 * with an {@link Initramfs}, its serial console on QEMU's stdout, read by a thread into a buffer
 * (and a log file) that {@link #await} searches for markers. The guest's RAM is a shared memfd
 * ({@code memory-backend-memfd,share=on} bound to the only NUMA node), which vhost-user needs.
 * Devices, machine type, memory size and 9p shares are the caller's; {@link #close()} always
 * ends the QEMU process.
 *
 * <pre>{@code
 * try (QemuGuest g = QemuGuest.builder(kernel, initramfs).args("-device", "...").start(log)) {
 *     g.await("PANDA-DONE", Duration.ofSeconds(120));
 * }
 * }</pre>
 */
public final class QemuGuest implements AutoCloseable {

    public static final Path QEMU = Path.of("/usr/bin/qemu-system-x86_64");

    private final Process process;
    private final Thread reader;
    private final StringBuilder console = new StringBuilder();
    private final Path log;
    private final List<String> command;

    private QemuGuest(List<String> command, Path log) throws IOException {
        this.command = List.copyOf(command);
        this.log = log;
        this.process = new ProcessBuilder(command).redirectErrorStream(true).start();
        this.reader = Thread.ofPlatform()
                .daemon()
                .name("qemu-console-" + process.pid())
                .start(this::read);
    }

    /** The release of the newest /boot/vmlinuz-* that has a /lib/modules directory. */
    public static String defaultKernelRelease() {
        try (Stream<Path> s = Files.list(Path.of("/boot"))) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("vmlinuz-"))
                    .map(n -> n.substring("vmlinuz-".length()))
                    .filter(r -> Files.isDirectory(Path.of("/lib/modules", r)))
                    .max(Comparator.naturalOrder())
                    .orElseThrow(() -> new IllegalStateException(
                            "no /boot/vmlinuz-* with modules: install Debian's linux-image-amd64"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path kernel(String release) {
        return Path.of("/boot/vmlinuz-" + release);
    }

    /** Fails with the reason when QEMU or the host kernel is missing. */
    public static void requireInstalled() {
        requireQemu();
        String r = defaultKernelRelease();
        if (!Files.isReadable(kernel(r))) {
            throw new AssertionError(kernel(r) + " is not readable: the guest needs Debian's linux-image-amd64");
        }
        if (!Files.isExecutable(Initramfs.BUSYBOX)) {
            throw new AssertionError(Initramfs.BUSYBOX + " not found: install Debian's busybox-static");
        }
    }

    /** Fails with the reason when QEMU or busybox-static (for the initramfs) is missing. */
    public static void requireQemu() {
        if (!Files.isExecutable(QEMU)) {
            throw new AssertionError(QEMU + " not found: install Debian's qemu-system-x86 (scripts/setup)");
        }
        if (!Files.isExecutable(Initramfs.BUSYBOX)) {
            throw new AssertionError(Initramfs.BUSYBOX + " not found: install Debian's busybox-static");
        }
    }

    public static Builder builder(Path kernel, Path initramfs) {
        return new Builder(kernel, initramfs);
    }

    /** What QEMU runs: machine, memory, kernel command line, devices. */
    public static final class Builder {
        private final Path kernel;
        private final Path initramfs;
        private String machine = "pc";
        private String cpu;
        private boolean oneTcgThread;
        private int memoryMb = 256;
        private int cpus = 1;
        private String append = "";
        private final List<String> extra = new ArrayList<>();

        private Builder(Path kernel, Path initramfs) {
            this.kernel = kernel;
            this.initramfs = initramfs;
        }

        /** {@code -machine} value, e.g. "q35,kernel-irqchip=split" (default "pc"). */
        public Builder machine(String m) {
            this.machine = m;
            return this;
        }

        /**
         * {@code -cpu} value (default: QEMU's own). bookworm-backports' 6.12 kernel needs
         * "qemu64,-cx16" under QEMU 7.2's TCG: with CMPXCHG16B about a third of its boots crash in the
         * slab allocator.
         */
        public Builder cpu(String model) {
            this.cpu = model;
            return this;
        }

        /**
         * Runs every vCPU on one TCG thread ({@code -accel tcg,thread=single}) instead of one host
         * thread each: no two vCPUs execute translated code at the same time, so the guest's live
         * kernel-text patches (jump labels, through an int3 and IPIs) and its atomics cannot race
         * in the emulator. Slower for a guest that keeps several vCPUs busy.
         */
        public Builder oneTcgThread() {
            this.oneTcgThread = true;
            return this;
        }

        /** Guest RAM in MiB, all of it one shared memfd (default 256). */
        public Builder memoryMb(int mb) {
            this.memoryMb = mb;
            return this;
        }

        public Builder cpus(int n) {
            this.cpus = n;
            return this;
        }

        /** Extra kernel command-line arguments (after console=ttyS0 panic=-1 loglevel=4). */
        public Builder append(String args) {
            this.append = args;
            return this;
        }

        /** Extra QEMU arguments, e.g. "-device", "intel-iommu,intremap=on" or a netdev and its device. */
        public Builder args(String... a) {
            extra.addAll(Arrays.asList(a));
            return this;
        }

        /**
         * A host directory the guest can mount with
         * {@code mount -t 9p -o trans=virtio,version=9p2000.L TAG /mnt} (needs the modules
         * 9pnet_virtio and 9p in the initramfs).
         */
        public Builder share9p(String tag, Path hostDir, boolean readOnly) {
            extra.add("-virtfs");
            extra.add("local,path=" + hostDir.toAbsolutePath() + ",mount_tag=" + tag + ",security_model=none"
                    + (readOnly ? ",readonly=on" : ""));
            return this;
        }

        public List<String> command() {
            List<String> c = new ArrayList<>(List.of(
                    QEMU.toString(),
                    "-accel",
                    oneTcgThread ? "tcg,thread=single" : "tcg",
                    "-machine",
                    machine,
                    "-smp",
                    Integer.toString(cpus),
                    "-m",
                    memoryMb + "M",
                    "-object",
                    "memory-backend-memfd,id=mem,size=" + memoryMb + "M,share=on",
                    "-numa",
                    "node,memdev=mem",
                    "-nodefaults",
                    "-display",
                    "none",
                    "-monitor",
                    "none",
                    "-serial",
                    "stdio",
                    "-no-reboot",
                    "-kernel",
                    kernel.toString(),
                    "-initrd",
                    initramfs.toString(),
                    "-append",
                    ("console=ttyS0 panic=-1 loglevel=4 " + append).strip()));
            if (cpu != null) {
                c.add(3, "-cpu");
                c.add(4, cpu);
            }
            c.addAll(extra);
            return c;
        }

        /** Starts QEMU; the console also goes to {@code log} (null: memory only). */
        public QemuGuest start(Path log) {
            try {
                if (log != null) {
                    Files.deleteIfExists(log);
                }
                return new QemuGuest(command(), log);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start " + QEMU, e);
            }
        }
    }

    private void read() {
        byte[] buf = new byte[4096];
        try (InputStream in = process.getInputStream();
                OutputStream copy = log == null ? OutputStream.nullOutputStream() : Files.newOutputStream(log)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                copy.write(buf, 0, n);
                copy.flush();
                String s = new String(buf, 0, n, StandardCharsets.ISO_8859_1).replace("\r", "");
                synchronized (console) {
                    console.append(s);
                    console.notifyAll();
                }
            }
        } catch (IOException e) {
            synchronized (console) {
                console.append("\n[qemu console read failed: ").append(e).append("]\n");
            }
        } finally {
            synchronized (console) {
                console.notifyAll();
            }
        }
    }

    public long pid() {
        return process.pid();
    }

    public List<String> command() {
        return command;
    }

    /** Everything the console printed so far. */
    public String console() {
        synchronized (console) {
            return console.toString();
        }
    }

    /**
     * Waits until the console's complete lines show {@code pattern} (searched from the start, so a marker printed
     * early is still found) and returns the match; fails with the console's tail if QEMU exits
     * first or the time runs out.
     */
    public MatchResult await(Pattern pattern, Duration timeout) {
        return await(pattern, pattern.pattern(), timeout);
    }

    /** Waits for a literal marker. */
    public MatchResult await(String marker, Duration timeout) {
        return await(Pattern.compile(Pattern.quote(marker)), marker, timeout);
    }

    private MatchResult await(Pattern pattern, String what, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (console) {
            while (true) {
                // complete lines only: the console arrives in pieces, and "MARKER (\\S+)" must not
                // match half a word
                Matcher m = pattern.matcher(console).region(0, console.lastIndexOf("\n") + 1);
                if (m.find()) {
                    return m.toMatchResult(); // a snapshot: the console goes on growing
                }
                long left = deadline - System.nanoTime();
                if (!reader.isAlive()) {
                    throw new AssertionError("QEMU ended (" + exitDescription() + ") before the console showed '" + what
                            + "'\n" + tail());
                }
                if (left <= 0) {
                    throw new AssertionError(
                            "the guest's console did not show '" + what + "' within " + timeout + "\n" + tail());
                }
                try {
                    console.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted waiting for '" + what + "'", e);
                }
            }
        }
    }

    /** Types a line on the guest's console (its /init shell reads it only if the script does). */
    public void type(String line) {
        try {
            OutputStream o = process.getOutputStream();
            o.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
            o.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("the guest's console is closed", e);
        }
    }

    /** Waits for QEMU to exit by itself (the guest powered off); its exit code. */
    public int awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("QEMU still running " + timeout + " later\n" + tail());
            }
            reader.join(5000);
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    public boolean alive() {
        return process.isAlive();
    }

    private String exitDescription() {
        return process.isAlive() ? "console closed" : "exit code " + process.exitValue();
    }

    /** The last 60 lines of the console, for failure messages. */
    public String tail() {
        String[] lines = console().split("\n", -1);
        int from = Math.max(0, lines.length - 60);
        return "---- guest console (last " + (lines.length - from) + " lines) ----\n"
                + String.join("\n", Arrays.copyOfRange(lines, from, lines.length));
    }

    /** Ends QEMU (SIGTERM, then SIGKILL after 5 s) unless it has exited already. */
    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                process.destroy();
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            }
            reader.join(5000);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
