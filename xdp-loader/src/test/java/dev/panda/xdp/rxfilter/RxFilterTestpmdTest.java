package dev.panda.xdp.rxfilter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.filter.RxFilterStream;
import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdMain;
import dev.panda.dataplane.testpmd.TestpmdOptions;
import dev.panda.xdp.prefilter.Prefilter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * testpmd with {@code --rx-filter=prefilter} on net_pcap ports: the prefilter object runs in the
 * userspace engine (translated and interpreted) on every received burst, with rules set from
 * Java through {@link Prefilter} over the engine's maps.
 */
class RxFilterTestpmdTest {

    static final int[] DST = {198, 18, 2, 1};
    static final int[] FLOW_SRC = {198, 18, 1, 1};
    private static final long TIMEOUT_NANOS = 120_000_000_000L;

    private Path dir;

    @BeforeEach
    void createDir() throws Exception {
        dir = Files.createTempDirectory("panda-rxfilter");
    }

    @AfterEach
    void removeDir() throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Kind of test frame, by what the rules below do to it. */
    enum Kind {
        DROP_PREFIX,
        DROP_FLOW,
        PASS_FLOW,
        DEFAULT,
        MALFORMED
    }

    static byte[] frame(Kind k, int i) {
        return switch (k) {
            case DROP_PREFIX -> Frames.udp4(new int[] {198, 18, 5, 1 + i % 200}, DST, 1000, 2000, i);
            case DROP_FLOW -> Frames.udp4(FLOW_SRC, DST, 1111, 2222, i);
            case PASS_FLOW -> Frames.udp4(FLOW_SRC, DST, 1111, 3333, i);
            case DEFAULT -> Frames.udp4(new int[] {198, 18, 7, 1 + i % 200}, DST, 4000, 5000, i);
            // IPv4 header but the UDP ports cut off: the prefilter counts it malformed and drops it
            case MALFORMED -> java.util.Arrays.copyOf(Frames.udp4(FLOW_SRC, DST, 1, 2, i), 36);
        };
    }

    static InetAddress addr(int[] a) throws Exception {
        return InetAddress.getByAddress(new byte[] {(byte) a[0], (byte) a[1], (byte) a[2], (byte) a[3]});
    }

    /** Rules 0 (prefix 198.18.5.0/24 drop), 1 (flow drop), 2 (flow pass). */
    static void baseRules(Prefilter p) throws Exception {
        p.dropSourcePrefix(InetAddress.getByName("198.18.5.0"), 24, 0);
        p.flowRule(addr(FLOW_SRC), addr(DST), 17, 1111, 2222, Prefilter.FlowAction.DROP, 1);
        p.flowRule(addr(FLOW_SRC), addr(DST), 17, 1111, 3333, Prefilter.FlowAction.PASS, 2);
    }

    static TestpmdOptions options(String port0, String port1, String filter) {
        return TestpmdOptions.parse(
                "-l",
                "0,1",
                "--no-huge",
                "--vdev",
                port0,
                "--vdev",
                port1,
                "--",
                "--forward-mode=io",
                "--idle=yield",
                "--total-num-mbufs=4096",
                "--rx-filter=" + filter);
    }

    static EbpfRxFilter filter(Testpmd app) {
        return (EbpfRxFilter) app.rxFilter();
    }

    static RxFilterStream port0Filter(Testpmd app) {
        for (FwdStream fs : app.streams()) {
            if (fs.rxPortId == 0) {
                return fs.filter;
            }
        }
        throw new AssertionError("no stream receives on port 0");
    }

    static void await(String what, LongSupplier value, long atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        while (value.getAsLong() < atLeast) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        what + ": " + value.getAsLong() + " after 120 s, expected at least " + atLeast);
            }
            Thread.sleep(5);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jit", "interp"})
    void pcapForwardingHonoursRules(String engine) throws Exception {
        List<byte[]> in = new ArrayList<>();
        List<Integer> expectedTags = new ArrayList<>();
        long[] perKind = new long[Kind.values().length];
        for (int i = 0; i < 500; i++) {
            Kind k = Kind.values()[(i * 7 + i / 5) % Kind.values().length];
            in.add(frame(k, i));
            perKind[k.ordinal()]++;
            if (k == Kind.PASS_FLOW || k == Kind.DEFAULT) {
                expectedTags.add(i);
            }
        }
        Path rx = dir.resolve("in.pcap");
        Path tx = dir.resolve("out.pcap");
        Frames.writePcap(rx, in);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        long dropped, passed, aborted;
        try (Testpmd app = Testpmd.open(
                options("net_pcap0,rx_pcap=" + rx, "net_pcap1,tx_pcap=" + tx, "prefilter,engine=" + engine),
                new PrintStream(log, true, StandardCharsets.UTF_8))) {
            EbpfRxFilter f = filter(app);
            assertEquals(
                    engine.equals("jit") ? EbpfRxFilter.Engine.JIT : EbpfRxFilter.Engine.INTERP,
                    f.engine(),
                    f.description());
            Prefilter p = f.prefilter();
            baseRules(p);
            app.start(0);
            await("port 1 TX-packets", () -> app.port(1).stats().opackets(), expectedTags.size());
            await(
                    "port 0 filtered",
                    () -> app.filteredOn(0),
                    perKind[Kind.DROP_PREFIX.ordinal()]
                            + perKind[Kind.DROP_FLOW.ordinal()]
                            + perKind[Kind.MALFORMED.ordinal()]);
            app.stop();
            RxFilterStream s = port0Filter(app);
            dropped = s.dropped();
            passed = s.passed();
            aborted = s.aborted();
            assertEquals(in.size(), app.port(0).stats().ipackets(), "every frame arrives at port 0");
            assertEquals(0, app.port(0).stats().ierrors(), "filtered frames are not RX errors");
            assertEquals(expectedTags.size(), app.port(1).stats().opackets());
            assertEquals(perKind[Kind.DROP_PREFIX.ordinal()], p.actionCount(Prefilter.Action.DROP_PREFIX));
            assertEquals(perKind[Kind.DROP_FLOW.ordinal()], p.actionCount(Prefilter.Action.DROP_FLOW));
            assertEquals(perKind[Kind.PASS_FLOW.ordinal()], p.actionCount(Prefilter.Action.PASS_FLOW));
            assertEquals(perKind[Kind.DEFAULT.ordinal()], p.actionCount(Prefilter.Action.PASS));
            assertEquals(perKind[Kind.MALFORMED.ordinal()], p.actionCount(Prefilter.Action.MALFORMED));
            assertEquals(perKind[Kind.DROP_PREFIX.ordinal()], p.ruleCount(0));
            assertEquals(perKind[Kind.DROP_FLOW.ordinal()], p.ruleCount(1));
            assertEquals(perKind[Kind.PASS_FLOW.ordinal()], p.ruleCount(2));
            assertEquals(0, f.faults(), "program faults");
        }
        assertEquals(
                perKind[Kind.DROP_PREFIX.ordinal()]
                        + perKind[Kind.DROP_FLOW.ordinal()]
                        + perKind[Kind.MALFORMED.ordinal()],
                dropped);
        assertEquals(expectedTags.size(), passed);
        assertEquals(0, aborted);
        List<Integer> outTags = new ArrayList<>();
        for (byte[] fr : Frames.readPcap(tx)) {
            assertTrue(!(Frames.srcByte(fr, 2) == 5), "a frame from the dropped prefix was forwarded");
            assertTrue(
                    !(Frames.sport(fr) == 1111 && Frames.dport(fr) == 2222),
                    "a frame of the dropped flow was forwarded");
            outTags.add(Frames.tag(fr));
        }
        assertEquals(expectedTags, outTags, "exactly the passed frames, in order");
        String text = log.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("Rx filter: prefilter.o:pf_prefilter in userspace"), text);
        assertTrue(text.contains("RX-filtered: " + dropped), text);
    }

    @Test
    void liveRuleUpdatesChangeTheCounts() throws Exception {
        Path rx = dir.resolve("loop.pcap");
        Frames.writePcap(
                rx,
                List.of(
                        frame(Kind.DROP_PREFIX, 1),
                        frame(Kind.DEFAULT, 2),
                        frame(Kind.PASS_FLOW, 3),
                        frame(Kind.DEFAULT, 4)));
        try (Testpmd app = Testpmd.open(
                options("net_pcap0,rx_pcap=" + rx + ",infinite_rx=1", "net_pcap1", "prefilter"),
                new PrintStream(java.io.OutputStream.nullOutputStream()))) {
            Prefilter p = filter(app).prefilter();
            baseRules(p);
            app.start(0);
            await("default-pass packets before the new rule", () -> p.actionCount(Prefilter.Action.PASS), 2000);
            assertEquals(0, p.ruleCount(3));

            p.dropSourcePrefix(InetAddress.getByName("198.18.7.0"), 24, 3);
            Thread.sleep(300); // a burst already inside the program may still see the old rules
            long pass = p.actionCount(Prefilter.Action.PASS);
            long hits = p.ruleCount(3);
            long flowPass = p.actionCount(Prefilter.Action.PASS_FLOW);
            await("rule 3 hits", () -> p.ruleCount(3), hits + 5000);
            await("flow passes", () -> p.actionCount(Prefilter.Action.PASS_FLOW), flowPass + 2000);
            assertEquals(pass, p.actionCount(Prefilter.Action.PASS), "198.18.7.0/24 still passed after its drop rule");

            assertTrue(p.removeSourcePrefix(InetAddress.getByName("198.18.7.0"), 24));
            Thread.sleep(300);
            long hitsAfter = p.ruleCount(3);
            await(
                    "default-pass packets after removing the rule",
                    () -> p.actionCount(Prefilter.Action.PASS),
                    pass + 2000);
            assertEquals(hitsAfter, p.ruleCount(3), "a removed rule kept matching");
            app.stop();
            RxFilterStream s = port0Filter(app);
            assertEquals(
                    s.passed(),
                    app.port(1).stats().opackets()
                            + app.streams().stream()
                                    .filter(fs -> fs.rxPortId == 0)
                                    .mapToLong(FwdStream::fwdDropped)
                                    .sum(),
                    "every passed packet was forwarded (or counted as a tx drop)");
            assertEquals(p.actionCount(Prefilter.Action.DROP_PREFIX), s.dropped());
        }
    }

    @Test
    void badFilterOptionsAreOneLineUsageErrors() {
        for (String bad : List.of(
                "nosuch",
                "prefilter,engine=fast",
                "prefilter,drop=10.0.0.0",
                "prefilter,color=red",
                dir.resolve("missing.o").toString())) {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int rc = TestpmdMain.run(
                    new String[] {
                        "-l", "0,1", "--no-huge", "--vdev", "net_null0", "--", "--rx-filter=" + bad, "--run-time=1"
                    },
                    new ByteArrayInputStream(new byte[0]),
                    new PrintStream(java.io.OutputStream.nullOutputStream()),
                    new PrintStream(err, true, StandardCharsets.UTF_8),
                    false);
            String msg = err.toString(StandardCharsets.UTF_8);
            assertEquals(2, rc, bad + ": " + msg);
            assertEquals(1, msg.lines().count(), msg);
            assertTrue(msg.contains("--rx-filter"), msg);
        }
    }
}
