package dev.panda.vswitch.capture;

import java.nio.file.Files;
import java.nio.file.Path;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * Reads a capture's queue directory, while the vswitch writes it or after it has gone: opened
 * read-only, one {@link CaptureRecord} per document. A record that does not decode is counted
 * ({@link #damaged()}) and skipped, with its first reason kept ({@link #firstDamage()}); so is one
 * whose queue header says Chronicle metadata (captures write none, so a record there had a bit of
 * its header flipped).
 */
public final class CaptureReader implements AutoCloseable {

    private final SingleChronicleQueue queue;
    private final ExcerptTailer tailer;
    private byte[] buf = new byte[CaptureRecord.HEADER + 2048];
    private long damaged;
    private String firstDamage;

    private CaptureReader(Path dir, boolean fromEnd) {
        Captures.quietLibraryLogs();
        this.queue = SingleChronicleQueueBuilder.binary(dir)
                .readOnly(true)
                .rollCycle(Rolls.cycle(roll(dir)))
                .build();
        this.tailer = queue.createTailer();
        if (fromEnd) {
            tailer.toEnd();
        }
    }

    /**
     * Opens {@code <stateDir>/captures/<name>}; throws {@link IllegalArgumentException} with one
     * line when it is not a capture directory.
     */
    public static CaptureReader open(Path dir, boolean fromEnd) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + ": no such capture (no directory)");
        }
        if (!Files.exists(dir.resolve("capture.json"))
                && Retention.cycleFiles(dir).isEmpty()) {
            throw new IllegalArgumentException(dir + ": not a capture directory (no capture.json, no *.cq4)");
        }
        return new CaptureReader(dir, fromEnd);
    }

    /** The roll the capture was started with (capture.json), so the queue opens with it; else hour. */
    private static String roll(Path dir) {
        try {
            String r = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(Files.readAllBytes(dir.resolve("capture.json")))
                    .path("roll")
                    .asText("hour");
            Rolls.cycle(r);
            return r;
        } catch (java.io.IOException | RuntimeException e) {
            return "hour";
        }
    }

    /**
     * The next record into {@code out}; false when there is none (yet). Damaged records are
     * skipped and counted.
     */
    public boolean next(CaptureRecord out) {
        while (true) {
            try (DocumentContext dc = tailer.readingDocument(true)) {
                if (!dc.isPresent()) {
                    return false;
                }
                Bytes<?> b = dc.wire().bytes();
                long n = b.readRemaining();
                if (dc.isMetaData()) {
                    // Chronicle's own metadata, or a record whose queue header had its metadata
                    // bit flipped: a tailer that reads data only would skip the latter unseen
                    if (n >= CaptureRecord.HEADER && b.peekUnsignedByte(b.readPosition()) == CaptureRecord.VERSION) {
                        damage("a record marked as the queue's metadata (a flipped bit in its queue header)");
                    }
                    continue;
                }
                if (n > CaptureRecord.HEADER + CaptureRecord.MAX_FRAME) {
                    damage("record of " + n + " bytes is longer than any frame");
                    continue;
                }
                if (buf.length < n) {
                    buf = new byte[(int) n];
                }
                b.read(buf, 0, (int) n);
                String why = CaptureRecord.decode(buf, (int) n, out);
                if (why == null) {
                    return true;
                }
                damage(why);
            }
        }
    }

    private void damage(String why) {
        if (damaged++ == 0) {
            firstDamage = why;
        }
    }

    public long damaged() {
        return damaged;
    }

    public String firstDamage() {
        return firstDamage;
    }

    @Override
    public void close() {
        tailer.close();
        queue.close();
    }
}
