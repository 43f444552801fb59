package dev.panda.vswitch.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import org.junit.jupiter.api.AfterAll;

/**
 * Any bytes as one document of a capture queue, read back by the reader export and tail use
 * ({@link CaptureReader}, {@link CaptureRecord#decode}): a record that does not hold together is
 * skipped and counted with a one-line reason, one that does has consistent fields and goes through
 * the pcap writer and the one-line summary without throwing.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code CaptureRecordFuzzTestInputs/} run.
 */
class CaptureRecordFuzzTest {

    private static Path dir;
    private static SingleChronicleQueue queue;
    private static ExcerptAppender appender;
    private static CaptureReader reader;

    private static synchronized void open() throws Exception {
        if (queue == null) {
            dir = Files.createTempDirectory("panda-capture-fuzz");
            queue = SingleChronicleQueueBuilder.binary(dir).build();
            appender = queue.createAppender();
            Files.writeString(dir.resolve("capture.json"), "{}");
            reader = CaptureReader.open(dir, false);
        }
    }

    /** The queue's files go with the run: a fuzzing campaign writes gigabytes of them. */
    @AfterAll
    static synchronized void close() throws Exception {
        if (queue != null) {
            reader.close();
            queue.close();
            queue = null;
        }
        if (dir != null) {
            CaptureNamespaceTest.deleteTree(dir);
            assertFalse(Files.exists(dir), "left behind: " + dir);
        }
    }

    @FuzzTest(maxDuration = "20s")
    void damagedRecordsAreSkipped(byte[] input) throws Exception {
        open();
        CaptureRecord r = new CaptureRecord();
        String why = CaptureRecord.decode(input, input.length, r);
        if (why != null) {
            assertFalse(why.contains("\n"), why);
        } else {
            assertEquals(input.length - CaptureRecord.HEADER, r.capturedLength);
            assertTrue(r.originalLength >= r.capturedLength);
            assertTrue(r.timestampNanos >= 0);
            FrameSummary.line(r, "p");
            try (PcapWriter w = new PcapWriter(new ByteArrayOutputStream(), 262144)) {
                w.write(r.timestampNanos, r.originalLength, r.buffer, CaptureRecord.HEADER, r.capturedLength);
            }
        }
        long damaged = reader.damaged();
        appender.writeBytes(Bytes.wrapForRead(input));
        CaptureRecord back = new CaptureRecord();
        boolean got = reader.next(back);
        assertEquals(why == null, got, "reader and decode disagree: " + why);
        assertEquals(damaged + (why == null ? 0 : 1), reader.damaged());
        if (got) {
            assertEquals(r.timestampNanos, back.timestampNanos);
            assertEquals(r.capturedLength, back.capturedLength);
        }
    }
}
