package dev.panda.dataplane.ports.pcap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortStats;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The tx side, round trips through a file, the device string, and the port lifecycle. */
class PcapPortTest extends PcapTestBase {

    private static List<byte[]> frames(int count) {
        List<byte[]> f = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            f.add(PcapBuilder.frame(14 + (i * 131) % 2035, i));
        }
        return f;
    }

    @Test
    void roundTripIsByteForByte() {
        List<byte[]> frames = frames(500);
        String out = path("out.pcap");
        Port tx = open("net_pcap0,tx_pcap=" + out);
        send(tx, frames);
        PortStats s = tx.stats();
        assertEquals(500, s.opackets());
        assertEquals(frames.stream().mapToLong(f -> f.length).sum(), s.obytes());
        assertEquals(0, s.oerrors());
        tx.close();
        Port rx = open("net_pcap1,rx_pcap=" + out);
        List<byte[]> got = drain(rx);
        assertEquals(frames.size(), got.size());
        for (int i = 0; i < frames.size(); i++) {
            assertArrayEquals(frames.get(i), got.get(i), "packet " + i);
        }
        assertEquals(0, rx.stats().ierrors());
    }

    @Test
    void writesAStandardMicrosecondCapture() throws IOException {
        long before = System.currentTimeMillis() / 1000;
        Port tx = open("net_pcap0,tx_pcap=" + path("out.pcap"));
        send(tx, List.of(PcapBuilder.frame(60, 1), PcapBuilder.frame(1514, 2)));
        tx.close();
        long after = System.currentTimeMillis() / 1000 + 1;
        ByteBuffer b =
                ByteBuffer.wrap(Files.readAllBytes(dir.resolve("out.pcap"))).order(ByteOrder.nativeOrder());
        assertEquals(24 + 16 + 60 + 16 + 1514, b.remaining());
        assertEquals(0xa1b2c3d4, b.getInt(0), "magic, native order");
        assertEquals(2, b.getShort(4));
        assertEquals(4, b.getShort(6));
        assertEquals(0, b.getInt(8));
        assertEquals(0, b.getInt(12));
        assertEquals(65535, b.getInt(16), "snaplen");
        assertEquals(1, b.getInt(20), "LINKTYPE_ETHERNET");
        long sec = Integer.toUnsignedLong(b.getInt(24));
        assertTrue(sec >= before && sec <= after, "timestamp " + sec + " not in [" + before + ", " + after + "]");
        int usec = b.getInt(28);
        assertTrue(usec >= 0 && usec < 1_000_000, "microseconds " + usec);
        assertEquals(60, b.getInt(32));
        assertEquals(60, b.getInt(36));
        assertEquals(1514, b.getInt(24 + 16 + 60 + 8));
    }

    @Test
    void portOpenedWithoutTrafficLeavesAValidEmptyCapture() throws IOException {
        open("net_pcap0,tx_pcap=" + path("out.pcap")).close();
        assertEquals(24, Files.size(dir.resolve("out.pcap")));
        assertEquals(0, drain(open("net_pcap1,rx_pcap=" + path("out.pcap"))).size());
    }

    @Test
    void largeCaptureFlushesManyTimes() {
        List<byte[]> frames = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            frames.add(PcapBuilder.frame(1514, i));
        }
        Port tx = open("net_pcap0,tx_pcap=" + path("big.pcap"));
        send(tx, frames);
        tx.close();
        assertTrue(dir.resolve("big.pcap").toFile().length() > 4 * PcapWriter.BUFFER_BYTES);
        List<byte[]> got = drain(open("net_pcap1,rx_pcap=" + path("big.pcap")));
        assertEquals(3000, got.size());
        for (int i = 0; i < 3000; i++) {
            assertArrayEquals(frames.get(i), got.get(i), "packet " + i);
        }
    }

    /** python3's struct module as a reader nobody here wrote; skipped where python3 is missing. */
    @Test
    void anIndependentReaderAgrees() throws Exception {
        List<byte[]> frames = frames(200);
        Port tx = open("net_pcap0,tx_pcap=" + path("out.pcap"));
        send(tx, frames);
        tx.close();
        String script = String.join(
                "\n",
                "import struct, sys, hashlib",
                "d = open(sys.argv[1], 'rb').read()",
                "magic, vmaj, vmin, zone, sig, snap, link = struct.unpack('=IHHiIII', d[:24])",
                "assert magic == 0xa1b2c3d4 and (vmaj, vmin) == (2, 4) and link == 1, (magic, vmaj, vmin, link)",
                "off, n, h = 24, 0, hashlib.sha256()",
                "while off < len(d):",
                "    sec, usec, cap, ln = struct.unpack('=IIII', d[off:off + 16])",
                "    assert cap == ln and usec < 1000000 and off + 16 + cap <= len(d)",
                "    h.update(d[off + 16:off + 16 + cap]); off += 16 + cap; n += 1",
                "print(n, snap, h.hexdigest())");
        Process p;
        try {
            p = new ProcessBuilder("python3", "-c", script, path("out.pcap"))
                    .redirectErrorStream(true)
                    .start();
        } catch (IOException e) {
            Assumptions.abort("python3 not available: " + e.getMessage());
            return;
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, p.exitValue(), output);
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        frames.forEach(sha::update);
        assertEquals("200 65535 " + HexFormat.of().formatHex(sha.digest()), output);
    }

    @Test
    void withoutTxPcapTxFreesAndCounts() {
        Port port = open("net_pcap0");
        send(port, frames(100));
        assertEquals(100, port.stats().opackets());
        assertEquals(
                frames(100).stream().mapToLong(f -> f.length).sum(),
                port.stats().obytes());
    }

    @Test
    void deviceStringErrorsAreClear() {
        String in = PcapBuilder.ethernet().writeTo(dir.resolve("in.pcap")).toString();
        DeviceException e =
                assertThrows(DeviceException.class, () -> open("net_pcap0,rx_pcap=" + in + ",tx_pcap=" + in));
        assertTrue(e.getMessage().contains("same file"), e.getMessage());
        e = assertThrows(DeviceException.class, () -> open("net_pcap0,rx_pcap=" + in + ",rx_iface=eth0"));
        assertTrue(e.getMessage().contains("rx_iface") && e.getMessage().contains("tx_pcap"), e.getMessage());
        e = assertThrows(DeviceException.class, () -> open("net_pcap0,rx_pcap=" + in + ",infinite_rx=2"));
        assertTrue(e.getMessage().contains("infinite_rx"), e.getMessage());
        e = assertThrows(DeviceException.class, () -> open("net_pcap0,tx_pcap=" + dir.resolve("no/such/dir/x.pcap")));
        assertTrue(e.getMessage().contains("cannot create tx_pcap"), e.getMessage());
        e = assertThrows(DeviceException.class, () -> open("net_pcap0,rx_pcap="));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }

    @Test
    void unwritableTxFileIsRefusedAtOpen() {
        Assumptions.assumeTrue(Files.isWritable(Path.of("/dev/full")), "/dev/full not available");
        DeviceException e = assertThrows(DeviceException.class, () -> open("net_pcap0,tx_pcap=/dev/full"));
        assertTrue(e.getMessage().contains("/dev/full"), e.getMessage());
    }

    @Test
    void failedOpenLeavesNoFileBehind() throws IOException {
        Files.write(dir.resolve("bad.pcap"), new byte[] {1, 2, 3});
        assertThrows(
                DeviceException.class,
                () -> open("net_pcap0,rx_pcap=" + path("bad.pcap") + ",tx_pcap=" + path("out.pcap")));
        // The writer was created after the rx file mapped; its header is flushed and it is closed.
        assertTrue(!Files.exists(dir.resolve("out.pcap")) || Files.size(dir.resolve("out.pcap")) == 24);
    }

    @Test
    void closeIsIdempotentAndStopsTheQueues() {
        Port port = open("net_pcap0,tx_pcap=" + path("out.pcap") + ",rx_pcap="
                + PcapBuilder.ethernet().record(PcapBuilder.frame(60, 1)).writeTo(dir.resolve("in.pcap")));
        assertEquals("net_pcap0", port.name());
        assertEquals("net_pcap", port.driverName());
        assertEquals(1, port.rxQueueCount());
        assertEquals(1, port.txQueueCount());
        assertEquals(0x02L, port.mac() >>> 40 & 0x03, "locally administered unicast");
        assertEquals(LinkStatus.VIRTUAL_UP, port.link());
        port.close();
        port.close();
        assertEquals(LinkStatus.DOWN, port.link());
        PacketBurst burst = new PacketBurst(4);
        assertEquals(0, port.rxBurst(0, burst));
        burst.handles[0] = packet(PcapBuilder.frame(60, 1));
        assertEquals(0, port.txBurst(0, burst, 1), "a closed port takes nothing");
        assertEquals(1, port.stats().oerrors());
        pool.free(burst.handles[0]);
    }

    /** The hot path allocates nothing per packet: bytes allocated by this thread stay far below one per packet. */
    @Test
    void steadyStateAllocatesNothingPerPacket() {
        List<byte[]> frames = frames(64);
        Port rx = open("net_pcap0,infinite_rx=1,rx_pcap=" + capture(frames));
        Port tx = open("net_pcap1,tx_pcap=" + path("out.pcap"));
        PacketBurst burst = new PacketBurst(32);
        forward(rx, tx, burst, 20_000);
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = mx.getCurrentThreadAllocatedBytes();
        long packets = forward(rx, tx, burst, 20_000);
        long allocated = mx.getCurrentThreadAllocatedBytes() - before;
        assertEquals(640_000, packets);
        assertTrue(allocated < packets / 8, allocated + " bytes allocated for " + packets + " packets");
    }

    private Path capture(List<byte[]> frames) {
        PcapBuilder b = PcapBuilder.ethernet();
        frames.forEach(b::record);
        return b.writeTo(dir.resolve("in.pcap"));
    }

    private static long forward(Port rx, Port tx, PacketBurst burst, int bursts) {
        long moved = 0;
        for (int i = 0; i < bursts; i++) {
            int n = rx.rxBurst(0, burst);
            moved += tx.txBurst(0, burst, n);
        }
        return moved;
    }
}
