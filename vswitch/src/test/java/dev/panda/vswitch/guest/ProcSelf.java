package dev.panda.vswitch.guest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What this process holds, from /proc/self: its open file descriptors (counted by kind: what
 * their link names, with inode numbers cut off, e.g. {@code socket}, {@code anon_inode:[eventfd]},
 * {@code /memfd:...}) and the lines of its memory map (counted in total and for shared memfd
 * mappings, which is what a vhost-user front-end's memory table becomes, and for every mapping of
 * a file: the anonymous ones change with the JVM's own threads, JIT and allocator).
 */
record ProcSelf(
        int fds, Map<String, Integer> fdKinds, int maps, int namedMaps, int memfdMaps, List<String> memfdMapLines) {

    static ProcSelf take() {
        Map<String, Integer> kinds = new TreeMap<>();
        int fds = 0;
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String kind;
                try {
                    kind = kind(Files.readSymbolicLink(p).toString());
                } catch (IOException e) {
                    continue; // the directory stream's own fd, closed by now
                }
                fds++;
                kinds.merge(kind, 1, Integer::sum);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/maps"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String> memfd = lines.stream().filter(l -> l.contains("/memfd:")).toList();
        // mappings of a file or memfd (6th field present); anonymous ones come and go with the
        // JVM's own threads, JIT and allocator
        int named = (int)
                lines.stream().filter(l -> l.trim().split("\\s+").length >= 6).count();
        return new ProcSelf(fds, kinds, lines.size(), named, memfd.size(), memfd);
    }

    private static String kind(String link) {
        if (link.startsWith("socket:") || link.startsWith("pipe:")) {
            return link.substring(0, link.indexOf(':'));
        }
        if (link.startsWith("/memfd:")) {
            return "memfd";
        }
        if (link.startsWith("/")) {
            return link.startsWith("/proc/") ? "/proc" : "file";
        }
        return link; // anon_inode:[eventfd], anon_inode:[eventpoll], ...
    }

    /**
     * Takes a snapshot after a few collections, so descriptors whose owners are already
     * unreachable (a finished {@link Process}'s pipes) are closed by their cleaners first.
     */
    static ProcSelf settled() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return take();
    }
}
