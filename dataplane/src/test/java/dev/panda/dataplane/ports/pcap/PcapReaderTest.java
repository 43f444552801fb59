package dev.panda.dataplane.ports.pcap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortStats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The rx side: file formats, malformed captures, infinite replay, buffer shortage. */
class PcapReaderTest extends PcapTestBase {

    private static List<byte[]> frames(int count) {
        List<byte[]> f = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            f.add(PcapBuilder.frame(60 + (i * 97) % 1455, i));
        }
        return f;
    }

    private Path capture(String name, PcapBuilder b, List<byte[]> frames) {
        for (byte[] f : frames) {
            b.record(f);
        }
        return b.writeTo(dir.resolve(name));
    }

    private Path write(String name, byte[] content) {
        try {
            return Files.write(dir.resolve(name), content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void assertFrames(List<byte[]> expected, List<byte[]> actual) {
        assertEquals(expected.size(), actual.size(), "packet count");
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.get(i), "packet " + i);
        }
    }

    @ParameterizedTest(name = "{0} nanos={1}")
    @CsvSource({"LITTLE_ENDIAN,false", "LITTLE_ENDIAN,true", "BIG_ENDIAN,false", "BIG_ENDIAN,true"})
    void readsBothMagicsInBothByteOrders(String orderName, boolean nanos) {
        ByteOrder order = orderName.equals("BIG_ENDIAN") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        List<byte[]> frames = frames(70);
        Path file = capture("in.pcap", PcapBuilder.ethernet(order, nanos), frames);
        Port port = open("net_pcap0,rx_pcap=" + file);
        assertFrames(frames, drain(port));
        PortStats s = port.stats();
        assertEquals(70, s.ipackets());
        assertEquals(frames.stream().mapToLong(f -> f.length).sum(), s.ibytes());
        assertEquals(0, s.ierrors());
        assertEquals(0, port.rxBurst(0, new PacketBurst(32)), "rx stays empty at the end");
    }

    @Test
    void emptyCaptureGivesNothing() {
        Path file = PcapBuilder.ethernet().writeTo(dir.resolve("empty.pcap"));
        Port port = open("net_pcap0,rx_pcap=" + file);
        assertEquals(0, drain(port).size());
        assertEquals(PortStats.ZERO, port.stats());
    }

    @Test
    void noRxPcapMeansNoRx() {
        Port port = open("net_pcap0");
        assertEquals(0, port.rxBurst(0, new PacketBurst(32)));
    }

    // ---- malformed files that cannot be opened ------------------------------------------

    private DeviceException openFails(byte[] content) {
        Path file = write("bad.pcap", content);
        return assertThrows(DeviceException.class, () -> open("net_pcap0,rx_pcap=" + file));
    }

    @Test
    void zeroLengthFileIsRefused() {
        DeviceException e = openFails(new byte[0]);
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }

    @Test
    void truncatedFileHeaderIsRefused() {
        byte[] header = PcapBuilder.ethernet().bytes();
        DeviceException e = openFails(Arrays.copyOf(header, 10));
        assertTrue(e.getMessage().contains("10 bytes") && e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void wrongLinktypeIsRefusedByName() {
        DeviceException e =
                openFails(PcapBuilder.custom(ByteOrder.LITTLE_ENDIAN, PcapFormat.MAGIC_MICROS, 2, 4, 65535, 113)
                        .record(PcapBuilder.frame(60, 1))
                        .bytes());
        assertTrue(e.getMessage().contains("linktype 113") && e.getMessage().contains("LINUX_SLL"), e.getMessage());
    }

    @Test
    void notAPcapIsRefused() {
        DeviceException e = openFails("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes());
        assertTrue(e.getMessage().contains("not a pcap file"), e.getMessage());
    }

    @Test
    void pcapngIsRefusedWithAHint() {
        byte[] shb = {
            0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, 28,
            0, 0, 0
        };
        DeviceException e = openFails(shb);
        assertTrue(e.getMessage().contains("pcapng") && e.getMessage().contains("editcap"), e.getMessage());
    }

    @Test
    void wrongVersionIsRefused() {
        DeviceException e = openFails(PcapBuilder.custom(ByteOrder.BIG_ENDIAN, PcapFormat.MAGIC_MICROS, 7, 0, 65535, 1)
                .bytes());
        assertTrue(e.getMessage().contains("version 7.0"), e.getMessage());
    }

    @Test
    void missingFileIsRefused() {
        DeviceException e =
                assertThrows(DeviceException.class, () -> open("net_pcap0,rx_pcap=" + dir.resolve("nope.pcap")));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        e = assertThrows(DeviceException.class, () -> open("net_pcap0,rx_pcap=" + dir));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
    }

    // ---- malformed records: counted, rx stops or skips, never throws -------------------

    private Port openCapture(byte[] content, String extra) {
        Path file = write("in.pcap", content);
        return open("net_pcap0,rx_pcap=" + file + extra);
    }

    @Test
    void truncatedRecordStopsRxWithOneError() {
        List<byte[]> good = frames(5);
        PcapBuilder b = PcapBuilder.ethernet();
        good.forEach(b::record);
        byte[] full = b.record(PcapBuilder.frame(200, 9)).bytes();
        Port port = openCapture(Arrays.copyOf(full, full.length - 50), "");
        assertFrames(good, drain(port));
        assertEquals(1, port.stats().ierrors());
        assertEquals(0, drain(port).size());
        assertEquals(1, port.stats().ierrors(), "the break is counted once");
    }

    @Test
    void truncatedRecordHeaderStopsRx() {
        List<byte[]> good = frames(3);
        PcapBuilder b = PcapBuilder.ethernet();
        good.forEach(b::record);
        Port port = openCapture(b.raw(new byte[] {1, 2, 3, 4, 5}).bytes(), "");
        assertFrames(good, drain(port));
        assertEquals(1, port.stats().ierrors());
    }

    @Test
    void hugeCaplenStopsRx() {
        PcapBuilder b = PcapBuilder.ethernet().record(PcapBuilder.frame(64, 1));
        b.record(1, 2, 0xfffffff0, 64, PcapBuilder.frame(64, 2)).record(PcapBuilder.frame(64, 3));
        Port port = openCapture(b.bytes(), "");
        List<byte[]> got = drain(port);
        assertEquals(1, got.size(), "nothing after a corrupt header is trusted");
        assertEquals(1, port.stats().ierrors());
    }

    @Test
    void caplenPastTheEndStopsRx() {
        PcapBuilder b = PcapBuilder.ethernet().record(PcapBuilder.frame(64, 1));
        b.record(1, 2, 100_000, 100_000, PcapBuilder.frame(64, 2));
        Port port = openCapture(b.bytes(), "");
        assertEquals(1, drain(port).size());
        assertEquals(1, port.stats().ierrors());
    }

    @Test
    void recordOverSnaplenIsSkipped() {
        byte[] a = PcapBuilder.frame(64, 1);
        byte[] big = PcapBuilder.frame(300, 2);
        byte[] c = PcapBuilder.frame(64, 3);
        PcapBuilder b = PcapBuilder.custom(ByteOrder.LITTLE_ENDIAN, PcapFormat.MAGIC_MICROS, 2, 4, 128, 1)
                .record(a)
                .record(big)
                .record(c);
        Port port = openCapture(b.bytes(), "");
        assertFrames(List.of(a, c), drain(port));
        assertEquals(1, port.stats().ierrors());
    }

    @Test
    void packetBiggerThanABufferIsSkipped() {
        byte[] a = PcapBuilder.frame(1514, 1);
        byte[] jumbo = PcapBuilder.frame(pool.maxPacketLength() + 1, 2);
        byte[] c = PcapBuilder.frame(60, 3);
        Port port = openCapture(
                PcapBuilder.ethernet().record(a).record(jumbo).record(c).bytes(), "");
        assertFrames(List.of(a, c), drain(port));
        assertEquals(1, port.stats().ierrors());
        assertEquals(2, port.stats().ipackets());
    }

    @Test
    void zeroLengthRecordIsReplayedAsIs() {
        byte[] c = PcapBuilder.frame(60, 3);
        Port port =
                openCapture(PcapBuilder.ethernet().record(new byte[0]).record(c).bytes(), "");
        assertFrames(List.of(new byte[0], c), drain(port));
        assertEquals(0, port.stats().ierrors());
    }

    // ---- infinite_rx ---------------------------------------------------------------------

    @Test
    void infiniteRxReplaysTheFileForever() {
        List<byte[]> frames = frames(3);
        Port port = open("net_pcap0,infinite_rx=1,rx_pcap=" + capture("in.pcap", PcapBuilder.ethernet(), frames));
        List<byte[]> got = drain(port, 32, 10);
        assertEquals(320, got.size(), "every burst is full");
        for (int i = 0; i < got.size(); i++) {
            assertArrayEquals(frames.get(i % 3), got.get(i), "packet " + i);
        }
        assertEquals(320, port.stats().ipackets());
        assertTrue(((PcapPort) port).reader().passes() >= 106);
    }

    @Test
    void infiniteRxWrapsAtABrokenTail() {
        List<byte[]> frames = frames(2);
        PcapBuilder b = PcapBuilder.ethernet();
        frames.forEach(b::record);
        Port port = openCapture(b.raw(new byte[] {9, 9, 9}).bytes(), ",infinite_rx=1");
        List<byte[]> got = drain(port, 5, 4);
        assertEquals(20, got.size());
        for (int i = 0; i < got.size(); i++) {
            assertArrayEquals(frames.get(i % 2), got.get(i));
        }
        assertEquals(1, port.stats().ierrors(), "the broken tail is counted once, not once per pass");
    }

    @Test
    void infiniteRxOfNothingDeliverableEnds() {
        byte[] jumbo = PcapBuilder.frame(pool.maxPacketLength() + 1, 2);
        Port port = openCapture(PcapBuilder.ethernet().record(jumbo).bytes(), ",infinite_rx=1");
        assertEquals(0, drain(port, 32, 100).size());
        assertEquals(1, port.stats().ierrors());
        Port empty =
                open("net_pcap1,infinite_rx=1,rx_pcap=" + PcapBuilder.ethernet().writeTo(dir.resolve("e.pcap")));
        assertEquals(0, drain(empty, 32, 100).size());
    }

    @Test
    void infiniteRxNeedsAnRxFile() {
        DeviceException e = assertThrows(DeviceException.class, () -> open("net_pcap0,infinite_rx=1"));
        assertTrue(e.getMessage().contains("rx_pcap"), e.getMessage());
    }

    // ---- buffer shortage -----------------------------------------------------------------

    @Test
    void poolShortageIsCountedAndLosesNothing() {
        List<byte[]> frames = frames(40);
        Port port = open("net_pcap0,rx_pcap=" + capture("in.pcap", PcapBuilder.ethernet(), frames));
        int[] held = new int[pool.capacity()];
        int heldCount = pool.allocBulk(held, 0, pool.capacity() - 10);
        PacketBurst burst = new PacketBurst(32);
        assertEquals(10, port.rxBurst(0, burst));
        assertEquals(22, port.stats().rxNombuf(), "the 22 packets that had no buffer");
        List<byte[]> got = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            got.add(bytesOf(burst.handles[i]));
        }
        pool.freeBulk(burst.handles, 0, 10);
        pool.freeBulk(held, 0, heldCount);
        got.addAll(drain(port));
        assertFrames(frames, got);
        assertEquals(40, port.stats().ipackets());
    }
}
