package dev.panda.dataplane.ports.pcap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panda.dataplane.testpmd.Testpmd;
import dev.panda.dataplane.testpmd.TestpmdOptions;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Read a capture, forward it with testpmd in io mode, write it out, compare. */
class TestpmdPcapRoundTripTest {

    @Test
    void ioForwardingCopiesACaptureRecordForRecord(@TempDir Path dir) throws Exception {
        List<byte[]> frames = new ArrayList<>();
        PcapBuilder in = PcapBuilder.ethernet(ByteOrder.BIG_ENDIAN, true);
        for (int i = 0; i < 1000; i++) {
            byte[] f = PcapBuilder.frame(60 + (i * 37) % 1455, i);
            frames.add(f);
            in.record(f);
        }
        Path inFile = in.writeTo(dir.resolve("in.pcap"));
        Path outFile = dir.resolve("out.pcap");
        TestpmdOptions o = TestpmdOptions.parse(
                "-l",
                "0,1",
                "--no-huge",
                "--vdev",
                "net_pcap0,rx_pcap=" + inFile,
                "--vdev",
                "net_pcap1,tx_pcap=" + outFile,
                "--",
                "--forward-mode=io",
                "--idle=yield");
        try (Testpmd app = Testpmd.open(o, new PrintStream(OutputStream.nullOutputStream()))) {
            app.start(0);
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (app.port(1).stats().opackets() < frames.size() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            app.stop();
            assertEquals(frames.size(), app.port(0).stats().ipackets());
            assertEquals(frames.size(), app.port(1).stats().opackets());
            assertEquals(0, app.port(0).stats().ierrors());
        }
        // parse what was written, independently of the reader under test
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(outFile)).order(ByteOrder.nativeOrder());
        assertEquals(0xa1b2c3d4, b.getInt(), "microsecond pcap in native order");
        assertEquals(2, b.getShort());
        assertEquals(4, b.getShort());
        b.position(20);
        assertEquals(1, b.getInt(), "LINKTYPE_ETHERNET");
        for (int i = 0; i < frames.size(); i++) {
            b.getInt();
            b.getInt();
            int caplen = b.getInt();
            int len = b.getInt();
            assertEquals(frames.get(i).length, caplen, "record " + i);
            assertEquals(caplen, len);
            byte[] data = new byte[caplen];
            b.get(data);
            assertArrayEquals(frames.get(i), data, "record " + i + " differs");
        }
        assertEquals(0, b.remaining(), "bytes after the last expected record");
    }
}
