package dev.panda.dataplane.testpmd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.Packets;
import dev.panda.dataplane.fwd.PayloadStamp;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortStats;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.BitSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** testpmd on two net_ring ports, io forwarding, started with tx_first. */
class TestpmdEndToEndTest {

    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @Test
    void txFirstPacketsCirculateWithoutLossAndArriveIntact() throws Exception {
        TestpmdOptions o = TestpmdOptions.parse(
                "-l",
                "0,1",
                "--no-huge",
                "--vdev",
                "net_ring0",
                "--vdev",
                "net_ring1",
                "--",
                "--forward-mode=io",
                "--idle=yield",
                "--total-num-mbufs=4096");
        int bursts = 4;
        int perStream = bursts * 32;
        try (Testpmd app = Testpmd.open(o, QUIET)) {
            PacketPool pool = app.pool();
            app.start(bursts);
            long deadline = System.nanoTime() + 10_000_000_000L;
            // wait until every packet went round at least 1000 times
            while (rx(app) < 1000L * 2 * perStream && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            app.stop();
            long rx = 0, tx = 0;
            for (int p = 0; p < 2; p++) {
                PortStats s = app.port(p).stats();
                assertEquals(0, s.oerrors(), "port " + p + " refused packets");
                assertEquals(0, s.imissed());
                rx += s.ipackets();
                tx += s.opackets();
            }
            assertTrue(rx >= 1000L * 2 * perStream, "packets did not circulate: rx " + rx);
            for (FwdStream fs : app.streams()) {
                assertEquals(0, fs.fwdDropped(), "stream " + fs.id + " dropped packets");
            }
            // what was sent and not yet received is exactly what tx_first injected
            assertEquals(2L * perStream, tx - rx);

            // every injected packet is still in the rings, each intact and each exactly once
            BitSet[] seen = {new BitSet(), new BitSet()};
            PacketBurst burst = new PacketBurst(64);
            int drained = 0;
            for (int p = 0; p < 2; p++) {
                Port port = app.port(p);
                int n;
                while ((n = port.rxBurst(0, burst)) > 0) {
                    for (int i = 0; i < n; i++) {
                        int h = burst.handles[i];
                        long f = pool.dataOffset(h);
                        int len = pool.length(h);
                        assertEquals(64, len);
                        assertTrue(
                                PayloadStamp.verify(pool.segment(), f + Packets.PAYLOAD, len - Packets.PAYLOAD),
                                "payload damaged");
                        int stream = PayloadStamp.stream(pool.segment(), f + Packets.PAYLOAD);
                        int seq = PayloadStamp.seq(pool.segment(), f + Packets.PAYLOAD);
                        assertTrue(stream == 0 || stream == 1, "stream " + stream);
                        assertTrue(seq >= 0 && seq < perStream, "seq " + seq);
                        assertTrue(!seen[stream].get(seq), "packet " + stream + "/" + seq + " seen twice");
                        seen[stream].set(seq);
                    }
                    pool.freeBulk(burst.handles, 0, n);
                    drained += n;
                }
            }
            assertEquals(2 * perStream, drained);
            assertEquals(perStream, seen[0].cardinality());
            assertEquals(perStream, seen[1].cardinality());
            assertEquals(pool.capacity(), pool.available(), "buffers lost");
        }
    }

    private static long rx(Testpmd app) {
        return app.port(0).stats().ipackets() + app.port(1).stats().ipackets();
    }

    @Test
    void interactiveSessionFromAPipePrintsTestpmdLayout() throws Exception {
        PipedOutputStream commands = new PipedOutputStream();
        PipedInputStream in = new PipedInputStream(commands);
        ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
        ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
        int[] code = new int[1];
        Thread t = Thread.ofPlatform()
                .start(() -> code[0] = TestpmdMain.run(
                        new String[] {
                            "-l",
                            "0,1",
                            "-n",
                            "4",
                            "-m",
                            "512",
                            "--no-pci",
                            "--single-file-segments",
                            "--file-prefix",
                            "pt",
                            "--vdev",
                            "net_ring0",
                            "--vdev",
                            "net_ring1",
                            "--",
                            "-i",
                            "--forward-mode=io",
                            "--idle=yield"
                        },
                        in,
                        out,
                        new PrintStream(errBytes, true, StandardCharsets.UTF_8),
                        false));
        send(commands, "show config fwd\nstart tx_first\n");
        Thread.sleep(500);
        send(commands, "set fwd rxonly\nshow fwd stats all\nset burst 999\n");
        send(
                commands,
                "show port stats all\nstop\nset fwd nosuchmode\nset fwd macswap\nclear port stats all\n"
                        + "show port stats 7\nbogus\nshow port info 0\nquit\n");
        t.join(30_000);
        String text = outBytes.toString(StandardCharsets.UTF_8);
        assertEquals(0, code[0], "exit code; stderr: " + errBytes);
        assertTrue(
                text.contains("panda: options accepted without effect here: -n 4 --no-pci --single-file-segments"
                        + " --file-prefix pt"),
                text);
        assertTrue(text.contains("testpmd> start tx_first"), "commands from a pipe are echoed");
        assertTrue(text.contains("Logical Core 1 (socket 0) forwards packets on 2 streams:"), text);
        assertTrue(text.contains("  RX P=0/Q=0 (socket 0) -> TX P=1/Q=0 (socket 0) peer=02:00:00:00:00:01"), text);
        assertTrue(text.contains("  ######################## NIC statistics for port 0  ########################"));
        assertTrue(text.contains("  ######################## NIC statistics for port 1  ########################"));
        Matcher m = Pattern.compile("  RX-packets: (\\d+) +RX-missed: 0 +RX-bytes:  (\\d+)")
                .matcher(text);
        assertTrue(m.find(), text);
        assertTrue(Long.parseLong(m.group(1)) > 0, "no packets moved: " + m.group());
        long bytes = Long.parseLong(m.group(2));
        // packets and bytes are read one after the other while forwarding runs: equal only in units
        assertTrue(bytes > 0 && bytes % 64 == 0, "64-byte frames: " + m.group());
        assertTrue(text.contains("  ---------------------- Forward statistics for port 0  ----------------------"));
        assertTrue(text.contains("  +++++++++++++++ Accumulated forward statistics for all ports+++++++++++++++"));
        assertTrue(text.contains("  ------- Forward Stats for RX Port= 0/Queue= 0 -> TX Port= 1/Queue= 0 -------"));
        assertTrue(text.contains("Bad arguments"), "unknown mode answers as testpmd does");
        assertTrue(text.contains("Please stop forwarding first"), "set fwd while forwarding is refused");
        assertTrue(text.contains("  usage: set burst 1..512"), "a bad value says what is accepted");
        int fwdStats = text.indexOf("testpmd> show fwd stats all");
        assertTrue(
                fwdStats > 0 && text.indexOf("Forward statistics for port 0", fwdStats) < text.indexOf("testpmd> stop"),
                "show fwd stats all prints forward statistics before stop");
        assertTrue(text.contains("Set macswap packet forwarding mode"));
        assertTrue(text.contains("  NIC statistics for port 1 cleared"));
        assertTrue(text.contains("Invalid port 7\nValid port range is [0, 1]"));
        assertTrue(text.contains("Command not found"));
        assertTrue(text.contains("Device name: net_ring0"));
        assertTrue(text.contains("Bye..."));
    }

    private static void send(PipedOutputStream o, String s) throws IOException {
        o.write(s.getBytes(StandardCharsets.UTF_8));
        o.flush();
    }

    @Test
    void nonInteractiveRunWithStatsPeriodStopsAfterRunTime() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int code = TestpmdMain.run(
                new String[] {
                    "--vdev",
                    "net_ring0",
                    "--vdev",
                    "net_ring1",
                    "--forward-mode=io",
                    "--tx-first",
                    "--stats-period",
                    "1",
                    "--run-time",
                    "2.5",
                    "--idle=yield"
                },
                new java.io.ByteArrayInputStream(new byte[0]),
                new PrintStream(bytes, true, StandardCharsets.UTF_8),
                QUIET,
                false);
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(0, code);
        int blocks = text.split("Port statistics ====================================", -1).length - 1;
        assertTrue(blocks >= 2, "expected a statistics block per second, got " + blocks + ":\n" + text);
        assertTrue(text.contains("Accumulated forward statistics"), text);
    }
}
