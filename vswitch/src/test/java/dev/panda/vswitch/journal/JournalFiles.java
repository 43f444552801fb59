package dev.panda.vswitch.journal;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;

/** Where a journal's entries sit in its queue file, and two ways to damage it, for tests. */
public final class JournalFiles {

    static {
        Chronicle.quiet();
    }

    private JournalFiles() {}

    /** One excerpt: bytes {@code [start, end)} of {@code file}, its 4-byte queue header included. */
    public record Excerpt(Path file, long start, long end) {}

    /** The newest generation's excerpts in order (the snapshot first); the generation has one file. */
    public static List<Excerpt> excerpts(Path journalDir) throws IOException {
        Path gen;
        try (Stream<Path> s = Files.list(journalDir)) {
            gen = s.filter(p -> p.getFileName().toString().startsWith("gen-"))
                    .sorted()
                    .reduce((a, b) -> b)
                    .orElseThrow(() -> new IOException("no generation in " + journalDir));
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(gen)) {
            files = s.filter(p -> p.toString().endsWith(".cq4")).toList();
        }
        if (files.size() != 1) {
            throw new IOException(gen + " has " + files.size() + " queue files, not 1: " + files);
        }
        List<Excerpt> out = new ArrayList<>();
        try (SingleChronicleQueue q =
                SingleChronicleQueueBuilder.binary(gen).readOnly(true).build()) {
            ExcerptTailer t = q.createTailer();
            while (true) {
                try (DocumentContext dc = t.readingDocument()) {
                    if (!dc.isPresent()) {
                        break;
                    }
                    Bytes<?> b = dc.wire().bytes();
                    out.add(new Excerpt(files.getFirst(), b.readPosition() - 4, b.readLimit()));
                }
            }
        }
        return out;
    }

    /** Truncates the file at {@code at} (a torn write). */
    public static void cut(Path file, long at) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(at);
        }
    }

    /** XORs the byte at {@code at} with {@code mask} (1..255). */
    public static void flip(Path file, long at, int mask) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ mask);
        }
    }
}
