package dev.panda.pmd.virtio.vhostuser;

import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Test helpers: open descriptors and mappings of this process, and memfds to share. */
public final class Leaks {

    private Leaks() {}

    /** How many descriptors this process has open ({@code /proc/self/fd}). */
    public static long openFds() {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** How many lines of {@code /proc/self/maps} name a memfd whose name starts with {@code prefix}. */
    public static long mappingsOf(String prefix) {
        return mappingsContaining("/memfd:" + prefix);
    }

    /** How many lines of {@code /proc/self/maps} contain {@code text} (a file name, part of a path). */
    public static long mappingsContaining(String text) {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.filter(l -> l.contains(text)).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A memfd of {@code size} bytes. */
    static Fd memfd(String name, long size) {
        Fd fd = Posix.memfdCreate(name, Posix.MFD_CLOEXEC);
        Posix.ftruncate(fd, size);
        return fd;
    }

    /** A read-write shared mapping of {@code size} bytes of {@code fd} from {@code offset}. */
    static MemorySegment map(Fd fd, long size, long offset) {
        return Posix.mmap(size, Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_SHARED, fd, offset);
    }
}
