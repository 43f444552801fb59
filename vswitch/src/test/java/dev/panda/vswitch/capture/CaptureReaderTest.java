package dev.panda.vswitch.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
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
        long meta = 0;
        try (SingleChronicleQueue q = SingleChronicleQueueBuilder.binary(dir)
                .readOnly(true)
                .rollCycle(Rolls.cycle("hour"))
                .build()) {
            ExcerptTailer t = q.createTailer();
            while (true) {
                try (DocumentContext dc = t.readingDocument(true)) {
                    if (!dc.isPresent()) {
                        break;
                    }
                    meta += dc.isMetaData() ? 1 : 0;
                }
            }
        }
        assertTrue(meta > 0, "no metadata excerpt among " + records + " records");
    }

    @Test
    void aRecordMarkedAsMetadataIsCountedNotLost() throws IOException {
        // the queue header is a little-endian int: 30 bits of length, then Chronicle's two flags,
        // metadata (byte 3's 0x40) and not complete (0x80, which stops a tailer at the record just
        // as a writer in mid-record does)
        for (int mask : new int[] {0x40}) {
            Path dir = capture(tmp.resolve("m" + mask));
            List<Long> starts = recordStarts(dir);
            assertEquals(RECORDS, starts.size());
            flip(dir, starts.get(2) - 4 + 3, mask); // the third record's header, byte 3
            assertEquals(List.of(1L, 2L, 4L, 5L), timestamps(dir, 1), String.format("header byte 3 ^ 0x%02x", mask));
        }
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

    /** Where each record's bytes start in the queue file (its 4-byte queue header is before). */
    private static List<Long> recordStarts(Path dir) {
        List<Long> out = new ArrayList<>();
        try (SingleChronicleQueue q = SingleChronicleQueueBuilder.binary(dir)
                .readOnly(true)
                .rollCycle(Rolls.cycle("day"))
                .build()) {
            ExcerptTailer t = q.createTailer();
            while (true) {
                try (DocumentContext dc = t.readingDocument()) {
                    if (!dc.isPresent()) {
                        break;
                    }
                    out.add(dc.wire().bytes().readPosition());
                }
            }
        }
        return out;
    }

    /** XORs byte {@code at} of the capture's one queue file with {@code mask}. */
    private static void flip(Path dir, long at, int mask) throws IOException {
        Path file;
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> files =
                    s.filter(p -> p.toString().endsWith(".cq4")).sorted().toList();
            assertEquals(1, files.size(), "one queue file: " + files);
            file = files.getFirst();
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ mask);
        }
    }
}
