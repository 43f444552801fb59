package dev.panda.dataplane.testpmd;

import dev.panda.dataplane.lcore.Lcore;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hot path allocates nothing: io forwarding between two ring ports runs for 10 s after a
 * warm-up while a JFR recording watches every TLAB and out-of-TLAB allocation and every GC, and
 * the JVM counts the bytes the forwarding thread allocates.
 */
class SteadyStateAllocationTest {

    private static final Duration WARM_UP = Duration.ofSeconds(3);
    private static final Duration WINDOW = Duration.ofSeconds(10);

    @Test
    void ioForwardingAllocatesNothingPerPacketAndCausesNoGc() throws Exception {
        TestpmdOptions o = TestpmdOptions.parse("-l", "0,1", "--no-huge", "--vdev", "net_ring0", "--vdev",
                "net_ring1", "--", "--forward-mode=io", "--idle=yield", "--total-num-mbufs=4096");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Path jfr = Files.createTempFile("panda-steady-state", ".jfr");
        try (Testpmd app = Testpmd.open(o, new PrintStream(OutputStream.nullOutputStream()))) {
            app.start(4);
            Thread.sleep(WARM_UP.toMillis());
            Lcore lcore = app.lcores().getFirst();
            long tid = lcore.thread().threadId();
            try (Recording rec = new Recording()) {
                rec.enable("jdk.ObjectAllocationInNewTLAB");
                rec.enable("jdk.ObjectAllocationOutsideTLAB");
                rec.enable("jdk.GarbageCollection");
                rec.start();
                long bytes0 = threads.getThreadAllocatedBytes(tid);
                long gc0 = gcCount();
                long pkts0 = forwarded(app);
                long t0 = System.nanoTime();
                java.time.Instant from = java.time.Instant.now();
                Thread.sleep(WINDOW.toMillis());
                java.time.Instant to = java.time.Instant.now();
                long bytes1 = threads.getThreadAllocatedBytes(tid);
                long gc1 = gcCount();
                long pkts1 = forwarded(app);
                double secs = (System.nanoTime() - t0) / 1e9;
                rec.stop();
                rec.dump(jfr);
                app.stop();

                long allocEvents = 0;
                long gcEvents = 0;
                for (RecordedEvent e : RecordingFile.readAllEvents(jfr)) {
                    String type = e.getEventType().getName();
                    if (type.equals("jdk.GarbageCollection")) {
                        // only cycles inside the measured window: the recording also spans its own
                        // start and the dump, where other threads (JFR's among them) allocate
                        if (!e.getStartTime().isBefore(from) && !e.getStartTime().isAfter(to)) {
                            gcEvents++;
                        }
                    } else if (e.getThread() != null && lcore.thread().getName().equals(e.getThread().getJavaName())) {
                        allocEvents++;
                    }
                }
                long packets = pkts1 - pkts0;
                long allocated = bytes1 - bytes0;
                System.out.printf("steady state: %.1f s, %d packets forwarded (%.2f Mpps), lcore thread allocated %d B"
                                + " (%.9f B/packet), GC cycles %d (JFR: %d), JFR allocation events on %s: %d%n",
                        secs, packets, packets / secs / 1e6, allocated, (double) allocated / packets, gc1 - gc0,
                        gcEvents, lcore.thread().getName(), allocEvents);
                assertTrue(packets > 1_000_000, "forwarding too slow to show anything: " + packets);
                assertEquals(0, allocEvents, "JFR saw the forwarding thread allocate");
                assertEquals(0, allocated, "the forwarding thread allocated " + allocated + " bytes over "
                        + packets + " packets");
                assertEquals(0, gc1 - gc0, "GC cycles during steady-state forwarding");
                assertEquals(0, gcEvents, "GC cycles recorded by JFR during steady-state forwarding");
            }
        } finally {
            Files.deleteIfExists(jfr);
        }
    }

    private static long forwarded(Testpmd app) {
        return app.port(0).stats().ipackets() + app.port(1).stats().ipackets();
    }

    private static long gcCount() {
        long n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, gc.getCollectionCount());
        }
        return n;
    }
}
