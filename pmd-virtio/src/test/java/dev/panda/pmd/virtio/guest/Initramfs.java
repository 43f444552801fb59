package dev.panda.pmd.virtio.guest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedSet;
import java.util.Set;
import java.util.TreeSet;

/**
 * A busybox initramfs for a test guest, written as a "newc" cpio archive (the format the kernel
 * unpacks, Documentation/driver-api/early-userspace/buffer-format.rst): busybox-static as
 * {@code /bin/busybox}, a generated {@code /init}, {@code /dev/console}, the kernel modules a
 * caller names together with everything they depend on (resolved from the host kernel's
 * {@code modules.dep}, which the archive carries, filtered, so the guest's {@code modprobe} works)
 * and any extra host files.
 *
 * <p>The generated {@code /init} installs busybox's applets, mounts proc, sysfs and devtmpfs,
 * loads the named modules in order with {@code modprobe}, runs the caller's script, and powers the
 * guest off whatever the script did, so QEMU (started with {@code -no-reboot}) exits.
 *
 * <p>{@link #build(Path)} names the archive after a hash of its contents and reuses it when it is
 * already there, so a test pays for it once per {@code target/} directory.
 */
public final class Initramfs {

    /** busybox-static from Debian. */
    public static final Path BUSYBOX = Path.of("/bin/busybox");

    private final String release;
    private final Path modulesDir;
    private final List<String> modules = new ArrayList<>();
    private final Map<String, Path> files = new LinkedHashMap<>();
    private final Map<String, byte[]> contents = new LinkedHashMap<>();
    private String script = "";

    private Initramfs(Path root, String release) {
        this.release = release;
        this.modulesDir = root.resolve("lib/modules").resolve(release);
    }

    /** An initramfs for the modules of the kernel {@link QemuGuest#defaultKernelRelease()}. */
    public static Initramfs forHostKernel() {
        return new Initramfs(Path.of("/"), QemuGuest.defaultKernelRelease());
    }

    /** An initramfs for the modules of kernel {@code release} (a directory under /lib/modules). */
    public static Initramfs forKernel(String release) {
        return new Initramfs(Path.of("/"), release);
    }

    /**
     * An initramfs for the modules of kernel {@code release} extracted under {@code root} (its
     * {@code lib/modules/RELEASE} with a modules.dep), such as {@link BackportsKernel}'s.
     */
    public static Initramfs forKernel(Path root, String release) {
        return new Initramfs(root, release);
    }

    public String kernelRelease() {
        return release;
    }

    /** Modules /init loads, in this order, each with its dependencies ("virtio_net", "vfio-pci"). */
    public Initramfs modules(String... names) {
        modules.addAll(List.of(names));
        return this;
    }

    /** Shell commands /init runs (busybox sh) once the modules are loaded. */
    public Initramfs script(String commands) {
        this.script = commands;
        return this;
    }

    /** Copies host file {@code host} into the guest at absolute path {@code guestPath}, mode kept. */
    public Initramfs file(String guestPath, Path host) {
        files.put(checkPath(guestPath), host);
        return this;
    }

    /** A file with the given bytes at absolute {@code guestPath} (mode 0755). */
    public Initramfs file(String guestPath, byte[] bytes) {
        contents.put(checkPath(guestPath), bytes.clone());
        return this;
    }

    private static String checkPath(String p) {
        if (!p.startsWith("/") || p.contains("//") || p.contains("/../") || p.endsWith("/")) {
            throw new IllegalArgumentException("not an absolute file path: " + p);
        }
        return p;
    }

    /** The /init script the archive will carry. */
    public String initScript() {
        StringBuilder b = new StringBuilder();
        b.append("#!/bin/busybox sh\n");
        b.append("/bin/busybox --install -s /bin\n");
        b.append("export PATH=/bin\n");
        b.append("mount -t proc proc /proc\n");
        b.append("mount -t sysfs sysfs /sys\n");
        b.append("mount -t devtmpfs devtmpfs /dev\n");
        Set<String> builtin = builtinModules();
        for (String m : modules) {
            if (builtin.contains(normalise(m))) {
                continue; // built into this kernel
            }
            b.append("modprobe ")
                    .append(m)
                    .append(" || echo 'panda-guest: modprobe ")
                    .append(m)
                    .append(" failed'\n");
        }
        b.append("(\n").append(script).append("\n)\n");
        b.append("echo 'panda-guest: init done, powering off'\n");
        b.append("poweroff -f\n");
        return b.toString();
    }

    /**
     * The modules to pack: each named module and its dependencies as modules.dep lists them,
     * as paths relative to /lib/modules/RELEASE (a module modules.builtin lists is skipped: the
     * kernel has it already). Fails on a module the kernel does not have.
     */
    public SequencedSet<String> resolveModules() {
        Map<String, String> byName = new HashMap<>();
        Map<String, List<String>> deps = new HashMap<>();
        for (String line : readLines(modulesDir.resolve("modules.dep"))) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String path = line.substring(0, colon).trim();
            byName.put(moduleName(path), path);
            String rest = line.substring(colon + 1).trim();
            deps.put(path, rest.isEmpty() ? List.of() : List.of(rest.split("\\s+")));
        }
        SequencedSet<String> out = new LinkedHashSet<>();
        Set<String> builtin = builtinModules();
        for (String m : modules) {
            if (builtin.contains(normalise(m))) {
                continue; // built into this kernel: nothing to pack or load
            }
            String path = byName.get(normalise(m));
            if (path == null) {
                throw new IllegalArgumentException("kernel " + release + " has no module " + m + " in "
                        + modulesDir.resolve("modules.dep") + " (built in, or not built?)");
            }
            out.add(path);
            out.addAll(deps.getOrDefault(path, List.of()));
        }
        for (String p : out) {
            if (!p.endsWith(".ko")) {
                throw new IllegalArgumentException("compressed module " + p + ": only plain .ko files are packed");
            }
        }
        return out;
    }

    /** Modules built into the kernel (modules.builtin; none when the file is absent). */
    Set<String> builtinModules() {
        Path f = modulesDir.resolve("modules.builtin");
        if (!Files.isReadable(f)) {
            return Set.of();
        }
        Set<String> out = new HashSet<>();
        for (String line : readLines(f)) {
            if (!line.isBlank()) {
                out.add(moduleName(line.trim()));
            }
        }
        return out;
    }

    private static String moduleName(String path) {
        String base = path.substring(path.lastIndexOf('/') + 1);
        int dot = base.indexOf('.');
        return normalise(dot < 0 ? base : base.substring(0, dot));
    }

    private static String normalise(String name) {
        return name.replace('-', '_');
    }

    /**
     * Writes the archive into {@code dir} (created if needed) unless an identical one is there,
     * and returns its path.
     */
    public Path build(Path dir) {
        byte[] archive = archive();
        String hash;
        try {
            hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(archive), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Path out = dir.resolve("initramfs-" + release + "-" + hash + ".cpio");
        try {
            if (Files.isRegularFile(out) && Files.size(out) == archive.length) {
                return out;
            }
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "initramfs-", ".part");
            try {
                Files.write(tmp, archive);
                try {
                    Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out, e);
        }
    }

    /** The whole archive in memory (a few MiB). */
    public byte[] archive() {
        if (!Files.isExecutable(BUSYBOX)) {
            throw new IllegalStateException(BUSYBOX + " not found: install Debian's busybox-static");
        }
        SequencedSet<String> mods = resolveModules();
        Map<String, Entry> entries = new LinkedHashMap<>();
        TreeSet<String> dirs = new TreeSet<>(List.of("/bin", "/dev", "/proc", "/sys", "/tmp", "/mnt", "/root"));
        entries.put("/init", new Entry(0100755, bytes(initScript())));
        entries.put("/bin/busybox", new Entry(0100755, read(BUSYBOX)));
        String modRoot = "/lib/modules/" + release + "/";
        StringBuilder dep = new StringBuilder();
        for (String rel : mods) {
            entries.put(modRoot + rel, new Entry(0100644, read(modulesDir.resolve(rel))));
        }
        // modules.dep of only the packed modules, each line as the host's (its dependencies are packed too)
        for (String line : readLines(modulesDir.resolve("modules.dep"))) {
            int colon = line.indexOf(':');
            if (colon > 0 && mods.contains(line.substring(0, colon).trim())) {
                dep.append(line).append('\n');
            }
        }
        entries.put(modRoot + "modules.dep", new Entry(0100644, bytes(dep.toString())));
        files.forEach((guest, host) -> {
            try {
                int mode = Files.isExecutable(host) ? 0100755 : 0100644;
                entries.put(guest, new Entry(mode, read(host)));
            } catch (UncheckedIOException e) {
                throw new IllegalArgumentException("cannot read " + host + " for the guest's " + guest, e);
            }
        });
        contents.forEach((guest, b) -> entries.put(guest, new Entry(0100755, b)));
        for (String p : entries.keySet()) {
            for (int i = p.indexOf('/', 1); i > 0; i = p.indexOf('/', i + 1)) {
                dirs.add(p.substring(0, i));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(8 << 20);
        Cpio cpio = new Cpio(out);
        for (String d : dirs) { // sorted: every parent before its children
            cpio.add(d.substring(1), 040755, 0, 0, new byte[0]);
        }
        cpio.add("dev/console", 020600, 5, 1, new byte[0]);
        entries.forEach((p, e) -> cpio.add(p.substring(1), e.mode, 0, 0, e.data));
        cpio.trailer();
        return out.toByteArray();
    }

    private record Entry(int mode, byte[] data) {}

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + p, e);
        }
    }

    private static List<String> readLines(Path p) {
        try {
            return Files.readAllLines(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + p + " (is linux-image-amd64 installed?)", e);
        }
    }

    /**
     * The "newc" cpio format: a 110-byte ASCII header ("070701" and 13 eight-digit hex fields),
     * the NUL-terminated name padded to 4 bytes, the data padded to 4 bytes; ends with an entry
     * named TRAILER!!!.
     */
    static final class Cpio {
        private final OutputStream out;
        private int ino = 1;
        private long written;

        Cpio(OutputStream out) {
            this.out = out;
        }

        void add(String name, int mode, int rdevMajor, int rdevMinor, byte[] data) {
            byte[] n = bytes(name + "\0");
            StringBuilder h = new StringBuilder(110).append("070701");
            int nlink = (mode & 0170000) == 040000 ? 2 : 1;
            for (long f :
                    new long[] {ino++, mode, 0, 0, nlink, 0, data.length, 0, 0, rdevMajor, rdevMinor, n.length, 0}) {
                h.append(String.format("%08x", f));
            }
            write(bytes(h.toString()));
            write(n);
            pad();
            write(data);
            pad();
        }

        void trailer() {
            ino = 0;
            add("TRAILER!!!", 0, 0, 0, new byte[0]);
        }

        private void write(byte[] b) {
            try {
                out.write(b);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            written += b.length;
        }

        private void pad() {
            int p = (int) (-written & 3);
            if (p > 0) {
                write(new byte[p]);
            }
        }
    }
}
