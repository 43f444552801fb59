package dev.panda.vswitch.capture;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Retention of a capture's queue files ({@code *.cq4}, one per roll cycle, named so that their
 * names sort by time): the oldest are deleted while the files together exceed the size limit, and
 * any whose last write is older than the age limit; the newest file (the one being written) is
 * always kept. Sizes are the files' lengths (Chronicle Queue grows a file in blocks, so a file is
 * counted by what it has reserved, not only what it holds).
 */
public final class Retention {

    private Retention() {}

    /** The queue's cycle files, oldest first. */
    public static List<Path> cycleFiles(Path dir) {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().endsWith(".cq4")).sorted().forEach(files::add);
        } catch (IOException e) {
            return List.of();
        }
        return files;
    }

    public static long queueBytes(Path dir) {
        long total = 0;
        for (Path p : cycleFiles(dir)) {
            try {
                total += Files.size(p);
            } catch (IOException e) {
                // deleted meanwhile
            }
        }
        return total;
    }

    /** Deletes old cycle files as the limits say; returns how many were deleted. */
    public static int apply(Path dir, long maxBytes, long maxAgeMillis, long nowMillis) {
        List<Path> files = cycleFiles(dir);
        long[] sizes = new long[files.size()];
        long total = 0;
        for (int i = 0; i < files.size(); i++) {
            try {
                sizes[i] = Files.size(files.get(i));
            } catch (IOException e) {
                sizes[i] = 0;
            }
            total += sizes[i];
        }
        int deleted = 0;
        for (int i = 0; i < files.size() - 1; i++) { // never the newest
            Path p = files.get(i);
            boolean old;
            try {
                old = nowMillis - Files.getLastModifiedTime(p).toMillis() > maxAgeMillis;
            } catch (IOException e) {
                continue;
            }
            if (total > maxBytes || old) {
                try {
                    Files.deleteIfExists(p);
                    total -= sizes[i];
                    deleted++;
                } catch (IOException e) {
                    System.err.println("panda vswitch: capture retention: cannot delete " + p + ": " + e.getMessage());
                }
            }
        }
        return deleted;
    }
}
