package dev.panda.vswitch.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.journal.JournalFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link CaptureReader} on a capture whose queue file was damaged after it was written: a record
 * whose queue header had a bit flipped so that Chronicle takes it for metadata is counted as
 * damaged, not skipped unseen, and every other record still reads.
 */
class CaptureReaderTest {

    private static final int RECORDS = 5;
    private static final int FRAME = 60;

    @TempDir
    Path tmp;

    @Test
    void anUndamagedCaptureReadsWhole() throws IOException {
        Path dir = capture(tmp.resolve("clean"));
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L), timestamps(dir, 0));
    }

    @Test
    void chroniclesOwnMetadataIsNotCountedAsDamage() throws IOException {
        // past 65,536 entries the hourly cycle starts a second index array: Chronicle's own
        // metadata excerpts between records, which the reader now sees and must leave uncounted
        int records = 70_000;
        Path dir = capture(tmp.resolve("long"), records, "hour");
        long n = 0;
        try (CaptureReader r = CaptureReader.open(dir, false)) {
            CaptureRecord rec = new CaptureRecord();
            while (r.next(rec)) {
                assertEquals(++n, rec.timestampNanos);
            }
            assertEquals(0, r.damaged(), "damaged: " + r.firstDamage());
        }
        assertEquals(records, n);
        // and the reader did meet Chronicle's metadata on the way
        long meta = excerpts(dir, "hour").stream().filter(Excerpt::meta).count();
        assertTrue(meta > 0, "no metadata excerpt among " + records + " records");
    }

    @Test
    void aRecordMarkedAsMetadataIsCountedNotLost() throws IOException {
        // the queue header is a little-endian int: 30 bits of length, then Chronicle's two flags,
        // metadata (byte 3's 0x40) and not complete (0x80, which stops a tailer at the record just
        // as a writer in mid-record does)
        Path dir = capture(tmp.resolve("flipped"));
        List<Excerpt> records =
                excerpts(dir, "day").stream().filter(e -> !e.meta()).toList();
        assertEquals(RECORDS, records.size());
        JournalFiles.flip(queueFile(dir), records.get(2).start() - 4 + 3, 0x40); // the third record's header, byte 3
        assertEquals(List.of(1L, 2L, 4L, 5L), timestamps(dir, 1), "header byte 3 ^ 0x40");
    }

    /** Reads every record of {@code dir}; asserts how many were counted as damaged, and why. */
    private static List<Long> timestamps(Path dir, long damaged) {
        List<Long> ts = new ArrayList<>();
        try (CaptureReader r = CaptureReader.open(dir, false)) {
            CaptureRecord rec = new CaptureRecord();
            while (r.next(rec)) {
                assertEquals(FRAME, rec.capturedLength);
                ts.add(rec.timestampNanos);
            }
            assertEquals(damaged, r.damaged(), "damaged: " + r.firstDamage());
            if (damaged == 0) {
                assertNull(r.firstDamage());
            } else {
                assertTrue(r.firstDamage().contains("metadata"), r.firstDamage());
            }
        }
        return ts;
    }

    /** A capture of {@value #RECORDS} rx records with timestamps 1, 2, ..., as the tap writes them. */
    private static Path capture(Path dir) throws IOException {
        return capture(dir, RECORDS, "day"); // one file unless the test runs across midnight
    }

    private static Path capture(Path dir, int records, String roll) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("capture.json"), "{\"roll\":\"" + roll + "\"}");
        try (SingleChronicleQueue q = SingleChronicleQueueBuilder.binary(dir)
                        .rollCycle(Rolls.cycle(roll))
                        .build();
                ExcerptAppender a = q.createAppender()) {
            for (int i = 1; i <= records; i++) {
                byte[] rec = new byte[CaptureRecord.HEADER + FRAME];
                CaptureRecord.header(rec, i, CaptureRecord.RX, i, FRAME);
                rec[CaptureRecord.HEADER] = (byte) i;
                a.writeBytes(Bytes.wrapForRead(rec));
            }
        }
        return dir;
    }

    /** One excerpt of a queue: Chronicle metadata or not, and where its bytes start (its 4-byte header is before). */
    private record Excerpt(boolean meta, long start) {}

    /** Every excerpt of {@code dir}'s queue, metadata included, in order. */
    private static List<Excerpt> excerpts(Path dir, String roll) {
        List<Excerpt> out = new ArrayList<>();
        try (SingleChronicleQueue q = SingleChronicleQueueBuilder.binary(dir)
                .readOnly(true)
                .rollCycle(Rolls.cycle(roll))
                .build()) {
            ExcerptTailer t = q.createTailer();
            while (true) {
                try (DocumentContext dc = t.readingDocument(true)) {
                    if (!dc.isPresent()) {
                        break;
                    }
                    out.add(new Excerpt(dc.isMetaData(), dc.wire().bytes().readPosition()));
                }
            }
        }
        return out;
    }

    /** The capture's one queue file. */
    private static Path queueFile(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> files =
                    s.filter(p -> p.toString().endsWith(".cq4")).sorted().toList();
            assertEquals(1, files.size(), "one queue file: " + files);
            return files.getFirst();
        }
    }
}
