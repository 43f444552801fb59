package dev.panda.vswitch.datapath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.capture.CaptureMain;
import dev.panda.vswitch.capture.Retention;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.PortConfig;
import dev.panda.vswitch.control.ControlServer;
import dev.panda.vswitch.ctl.CtlMain;
import dev.panda.vswitch.metrics.MetricsServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@code panda ctl capture} against a running vswitch over its control socket (ring hosts on
 * br0): refusals are one line with exit 2 (a filter libpcap refuses, with its message; an unknown
 * port; a bad snaplen; an unknown key; a name already running; stopping an unknown capture); a
 * capture of port a takes exactly the 300 frames b sends, with snaplen cutting them; while it runs,
 * {@code capture list} and the metrics count them, {@code panda capture export} writes a pcap
 * (nanosecond magic) holding every one, and {@code panda capture tail --from-start} prints a line
 * each; stopping reports captured + dropped = matched; after it is stopped (the queue closed, as
 * when panda has exited) export reads the same frames. Retention deletes old cycle files and never
 * the newest.
 */
class CaptureControlTest {

    private record Run(int rc, String out, String err) {}

    @Test
    void ctlCaptureStartListExportTailStop() throws Exception {
        Path dir = Files.createTempDirectory("panda-capture-ctl");
        try (Hosts hs = new Hosts(PmdConfig.Mode.RTC)) {
            var a = hs.host();
            var b = hs.host();
            hs.vswitch.addBridge(BridgeConfig.of("br0"));
            hs.vswitch.addPort("br0", PortConfig.of("a", a.device));
            hs.vswitch.addPort("br0", PortConfig.of("b", b.device));
            hs.vswitch.stateDir(dir.resolve("state"));
            Path sock = dir.resolve("ctl.sock");
            try (ControlServer server = ControlServer.start(sock, hs.vswitch, null);
                    MetricsServer metrics =
                            MetricsServer.start(new InetSocketAddress("127.0.0.1", 0), hs.vswitch, null)) {
                String c = sock.toString();
                Run r = ctl(c, "capture", "start", "c1", "port=a", "filter=udp and");
                assertEquals(2, r.rc());
                assertTrue(
                        r.err().startsWith("panda ctl: filter: 'udp and': ")
                                && r.err().contains("syntax error"),
                        r.err());
                assertEquals(1, r.err().lines().count(), r.err());
                r = ctl(c, "capture", "start", "c1", "port=nope");
                assertEquals(2, r.rc());
                assertEquals("panda ctl: port: no port nope\n", r.err());
                r = ctl(c, "capture", "start", "c1", "port=a", "snaplen=0");
                assertEquals(2, r.rc());
                assertTrue(r.err().contains("snaplen: expected an integer 1.."), r.err());
                r = ctl(c, "capture", "start", "c1", "port=a", "colour=red");
                assertEquals(2, r.rc());
                assertTrue(r.err().contains("'colour=red' is not KEY=VALUE with a known key"), r.err());
                r = ctl(c, "capture", "start", "c1", "port=a", "dir=up");
                assertEquals(2, r.rc());
                assertTrue(r.err().contains("dir: 'up' is not rx, tx or both"), r.err());

                r = ctl(
                        c,
                        "capture",
                        "start",
                        "c1",
                        "port=a",
                        "dir=tx",
                        "snaplen=40",
                        "filter=ether dst 02:00:00:00:00:0a");
                assertEquals(0, r.rc(), r.err());
                assertTrue(r.out().startsWith("capture c1 running: port a dir tx snaplen 40"), r.out());
                r = ctl(c, "capture", "start", "c1", "port=b");
                assertEquals(2, r.rc());
                assertTrue(r.err().contains("capture c1 is running"), r.err());

                long mA = 0x02_00_00_00_00_0aL;
                long mB = 0x02_00_00_00_00_0bL;
                a.send(mB, mA, 0, 46); // a's MAC learned: b's frames to a are unicast
                b.receive(200);
                for (int i = 0; i < 300; i++) {
                    b.send(mA, mB, 0, 46 + i % 50);
                }
                assertEquals(300, a.receive(500).size());

                r = ctl(c, "capture", "list");
                assertEquals(0, r.rc(), r.err());
                assertTrue(r.out().contains("matched 300 captured 300 dropped 0 pending 0"), r.out());
                String scrape = HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                                                + metrics.address().getPort() + "/metrics"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString())
                        .body();
                assertTrue(scrape.contains("panda_capture_matched_total{capture=\"c1\",port=\"a\"} 300"), scrape);
                assertTrue(scrape.contains("panda_capture_dropped_total{capture=\"c1\",port=\"a\"} 0"), scrape);

                Path pcap = dir.resolve("running.pcap");
                Run e = capture(
                        "export",
                        "c1",
                        "--pcap",
                        pcap.toString(),
                        "--state-dir",
                        dir.resolve("state").toString());
                assertEquals(0, e.rc(), e.err());
                assertEquals(300, pcapPackets(pcap, 40));
                Run t = capture(
                        "tail",
                        "c1",
                        "--from-start",
                        "--count",
                        "300",
                        "--state-dir",
                        dir.resolve("state").toString());
                assertEquals(0, t.rc(), t.err());
                assertEquals(300, t.out().lines().count(), t.out());
                assertTrue(
                        t.out()
                                .lines()
                                .allMatch(
                                        l -> l.matches(
                                                "\\d\\d:\\d\\d:\\d\\d\\.\\d{9} a tx 02:00:00:00:00:0b > 02:00:00:00:00:0a, IPv4 .*")),
                        t.out());

                r = ctl(c, "capture", "stop", "c1");
                assertEquals(0, r.rc(), r.err());
                assertTrue(
                        r.out().startsWith("capture c1 stopped")
                                && r.out().contains("matched 300 captured 300 dropped 0"),
                        r.out());
                r = ctl(c, "capture", "stop", "c1");
                assertEquals(2, r.rc());
                assertTrue(r.err().contains("no capture c1"), r.err());
                assertEquals("no captures running\n", ctl(c, "capture", "list").out());
            }
            // the queue closed, as after panda exited
            Path after = dir.resolve("after.pcap");
            Run e = capture(
                    "export",
                    "c1",
                    "--pcap",
                    after.toString(),
                    "--state-dir",
                    dir.resolve("state").toString(),
                    "--port",
                    "a");
            assertEquals(0, e.rc(), e.err());
            assertEquals(300, pcapPackets(after, 40));
            Run none = capture(
                    "export",
                    "c1",
                    "--pcap",
                    after.toString(),
                    "--state-dir",
                    dir.resolve("state").toString(),
                    "--from",
                    "2000000000");
            assertEquals(0, none.rc(), none.err());
            assertEquals(0, pcapPackets(after, 40));
            Run missing = capture("export", "nope", "--pcap", after.toString(), "--state-dir", dir.toString());
            assertEquals(1, missing.rc());
            assertTrue(missing.err().contains("no such capture"), missing.err());
            assertEquals(2, capture("export", "c1").rc());
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder())
                        .forEach(f -> f.toFile().delete());
            }
        }
    }

    @Test
    void retentionDeletesOldFilesButNeverTheNewest() throws Exception {
        Path dir = Files.createTempDirectory("panda-capture-retention");
        try {
            long now = System.currentTimeMillis();
            for (int i = 0; i < 4; i++) {
                Path f = dir.resolve("20261203-0" + i + ".cq4");
                Files.write(f, new byte[1000]);
                Files.setLastModifiedTime(f, java.nio.file.attribute.FileTime.fromMillis(now - (4 - i) * 3_600_000L));
            }
            assertEquals(0, Retention.apply(dir, 10_000, 86_400_000, now));
            assertEquals(2, Retention.apply(dir, 2_500, 86_400_000, now)); // 4000 bytes: down to 2000
            assertEquals(2, Retention.cycleFiles(dir).size());
            assertEquals(1, Retention.apply(dir, 10_000, 60_000, now)); // both old, the newest stays
            assertEquals(java.util.List.of(dir.resolve("20261203-03.cq4")), Retention.cycleFiles(dir));
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder())
                        .forEach(f -> f.toFile().delete());
            }
        }
    }

    /** Packets in a nanosecond pcap file, each checked to hold at most {@code snaplen} bytes. */
    private static int pcapPackets(Path f, int snaplen) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0xa1b23c4d, b.getInt(0));
        assertEquals(1, b.getInt(20));
        int n = 0;
        int p = 24;
        while (p < b.limit()) {
            int cap = b.getInt(p + 8);
            int orig = b.getInt(p + 12);
            assertTrue(b.getInt(p + 4) < 1_000_000_000, "nanoseconds field");
            assertTrue(cap <= snaplen && cap <= orig && orig >= 60, cap + "/" + orig);
            p += 16 + cap;
            n++;
        }
        assertEquals(b.limit(), p);
        return n;
    }

    private static Run ctl(String sock, String... args) {
        String[] all = new String[args.length + 2];
        all[0] = "--control";
        all[1] = sock;
        System.arraycopy(args, 0, all, 2, args.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = CtlMain.run(
                all,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Run capture(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = CaptureMain.run(
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
