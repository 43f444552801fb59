package dev.panda.xdp.rxfilter;

import dev.panda.dataplane.lcore.Lcore;
import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdOptions;
import dev.panda.xdp.prefilter.Prefilter;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The filtered hot path allocates nothing: io forwarding from a replayed capture (every verdict
 * of the prefilter: prefix drop, flow drop and pass, default pass, malformed) through the
 * userspace prefilter, while JFR watches the forwarding thread's allocations and every GC and
 * the JVM counts its allocated bytes (as dataplane's SteadyStateAllocationTest). The lcore
 * thread's CPU time per received packet is printed, with and without the filter, not asserted.
 */
class RxFilterAllocationTest {

    private static final long WARM_UP_MS = 4000;
    private static final long WINDOW_MS = 8000;

    @ParameterizedTest
    @ValueSource(strings = {"jit", "interp", "none"})
    void filteredForwardingAllocatesNothingInSteadyState(String engine) throws Exception {
        Path dir = Files.createTempDirectory("panda-rxfilter-alloc");
        Path rx = dir.resolve("mix.pcap");
        Path jfr = dir.resolve("steady.jfr");
        List<byte[]> frames = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            frames.add(RxFilterTestpmdTest.frame(RxFilterTestpmdTest.Kind.values()[i % 5], i));
        }
        Frames.writePcap(rx, frames);
        List<String> args = new ArrayList<>(List.of("-l", "0,1", "--no-huge", "--vdev",
                "net_pcap0,rx_pcap=" + rx + ",infinite_rx=1", "--vdev", "net_pcap1", "--", "--forward-mode=io",
                "--idle=yield", "--total-num-mbufs=4096"));
        if (!engine.equals("none")) {
            args.add("--rx-filter=prefilter,engine=" + engine);
        }
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Testpmd app = Testpmd.open(TestpmdOptions.parse(args.toArray(String[]::new)),
                new PrintStream(OutputStream.nullOutputStream()))) {
            Prefilter p = null;
            if (app.rxFilter() != null) {
                p = RxFilterTestpmdTest.filter(app).prefilter();
                RxFilterTestpmdTest.baseRules(p);
            }
            app.start(0);
            Thread.sleep(WARM_UP_MS);
            Lcore lcore = app.lcores().getFirst();
            long tid = lcore.thread().threadId();
            settle(threads, tid);
            try (Recording rec = new Recording()) {
                rec.enable("jdk.ObjectAllocationInNewTLAB");
                rec.enable("jdk.ObjectAllocationOutsideTLAB");
                rec.enable("jdk.GarbageCollection");
                rec.start();
                long bytes0 = threads.getThreadAllocatedBytes(tid);
                long cpu0 = threads.getThreadCpuTime(tid);
                long gc0 = gcCount();
                long pkts0 = app.port(0).stats().ipackets();
                long drop0 = p == null ? 0 : p.actionCount(Prefilter.Action.DROP_PREFIX);
                Thread.sleep(WINDOW_MS);
                long bytes1 = threads.getThreadAllocatedBytes(tid);
                long cpu1 = threads.getThreadCpuTime(tid);
                long gc1 = gcCount();
                long pkts1 = app.port(0).stats().ipackets();
                long drop1 = p == null ? 0 : p.actionCount(Prefilter.Action.DROP_PREFIX);
                rec.stop();
                rec.dump(jfr);
                app.stop();
                long allocEvents = 0, gcEvents = 0;
                for (RecordedEvent e : RecordingFile.readAllEvents(jfr)) {
                    if (e.getEventType().getName().equals("jdk.GarbageCollection")) {
                        gcEvents++;
                    } else if (e.getThread() != null && lcore.thread().getName().equals(e.getThread().getJavaName())) {
                        allocEvents++;
                    }
                }
                long packets = pkts1 - pkts0;
                long allocated = bytes1 - bytes0;
                System.out.printf("rx filter %s: %d packets in %d ms, lcore CPU %.0f ns/packet, allocated %d B, "
                                + "GC %d (JFR %d), JFR allocation events %d%n", engine, packets, WINDOW_MS,
                        (double) (cpu1 - cpu0) / Math.max(1, packets), allocated, gc1 - gc0, gcEvents, allocEvents);
                assertTrue(packets > 10_000, "forwarding too slow to show anything: " + packets);
                if (p != null) {
                    assertTrue(drop1 - drop0 > 1000, "the filter dropped nothing in the window");
                }
                assertEquals(0, allocEvents, "JFR saw the forwarding thread allocate");
                assertEquals(0, allocated, "the forwarding thread allocated " + allocated + " bytes over " + packets + " packets");
                assertEquals(0, gc1 - gc0, "GC cycles during steady-state forwarding");
                assertEquals(0, gcEvents, "GC cycles recorded by JFR");
            }
        } finally {
            Files.deleteIfExists(jfr);
            Files.deleteIfExists(rx);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * Waits for the JIT to settle: until two consecutive 1-s windows in which the lcore thread
     * allocated nothing (tiered compilation and deoptimisation of the translated program may
     * allocate a few bytes once, a per-packet allocation allocates in every window). Fails after 60 s.
     */
    private static void settle(com.sun.management.ThreadMXBean threads, long tid) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        int quiet = 0;
        long last = threads.getThreadAllocatedBytes(tid);
        while (quiet < 2) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the forwarding thread still allocates after 60 s of forwarding");
            }
            Thread.sleep(1000);
            long now = threads.getThreadAllocatedBytes(tid);
            quiet = now == last ? quiet + 1 : 0;
            last = now;
        }
    }

    private static long gcCount() {
        long n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, gc.getCollectionCount());
        }
        return n;
    }
}
