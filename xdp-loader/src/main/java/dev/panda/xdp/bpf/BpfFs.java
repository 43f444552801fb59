package dev.panda.xdp.bpf;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.NativeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The BPF filesystem pins live on. {@link #ensureMounted} mounts a bpffs at the given mount
 * point when none is there ({@code mount("bpf", dir, "bpf", 0, NULL)}, needs CAP_SYS_ADMIN).
 */
public final class BpfFs {

    /** Where pins go by default: {@code /sys/fs/bpf/panda}. */
    public static final Path DEFAULT_MOUNT = Path.of("/sys/fs/bpf");

    public static final Path DEFAULT_DIR = DEFAULT_MOUNT.resolve("panda");

    private static final MethodHandle MOUNT = ErrnoCalls.link(
            Linker.nativeLinker().defaultLookup().findOrThrow("mount"),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));

    private BpfFs() {}

    /** True when {@code dir} is itself a bpffs mount point (per /proc/self/mounts). */
    public static boolean isMounted(Path dir) {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/mounts"));
            String d = dir.toAbsolutePath().normalize().toString();
            for (String l : lines) {
                String[] f = l.split(" ");
                if (f.length > 2 && f[1].equals(d) && f[2].equals("bpf")) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Mounts a bpffs at {@code mountPoint} unless one is there. */
    public static void ensureMounted(Path mountPoint) {
        if (isMounted(mountPoint)) {
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            Files.createDirectories(mountPoint);
            MemorySegment st = ErrnoCalls.state(a);
            int rc = (int) MOUNT.invokeExact(
                    st,
                    a.allocateFrom("bpf"),
                    a.allocateFrom(mountPoint.toString()),
                    a.allocateFrom("bpf"),
                    0L,
                    MemorySegment.NULL);
            if (rc != 0) {
                throw new NativeException("mount(bpf, " + mountPoint + ")", ErrnoCalls.errno(st));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /**
     * Makes {@code dir} usable for pins: a bpffs is mounted at {@link #DEFAULT_MOUNT} when
     * {@code dir} lies under it and none is mounted, then the directory is created.
     */
    public static void ensureDirectory(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        if (abs.startsWith(DEFAULT_MOUNT)) {
            ensureMounted(DEFAULT_MOUNT);
        }
        try {
            Files.createDirectories(abs);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create pin directory " + abs, e);
        }
    }

    /** Removes pins (files) under {@code dir} and the directory; missing ones are ignored. */
    public static void unpinAll(Path dir) {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove pins under " + dir, e);
        }
    }
}
