package dev.panda.xdp.rxfilter;

import dev.panda.dataplane.ports.pcap.PcapFormat;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/** Test frames (Ethernet + IPv4 + UDP, RFC 791 / RFC 768) and pcap files holding them. */
final class Frames {

    private Frames() {}

    /** A 60-byte UDP/IPv4 frame from {@code src}:{@code sport} to {@code dst}:{@code dport}; {@code tag} in the payload. */
    static byte[] udp4(int[] src, int[] dst, int sport, int dport, int tag) {
        ByteBuffer b = ByteBuffer.allocate(60).order(ByteOrder.BIG_ENDIAN);
        b.put(new byte[] {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}).putShort((short) 0x0800);
        int ip = b.position();
        b.put((byte) 0x45)
                .put((byte) 0)
                .putShort((short) 46)
                .putShort((short) tag)
                .putShort((short) 0)
                .put((byte) 64)
                .put((byte) 17)
                .putShort((short) 0);
        for (int v : src) {
            b.put((byte) v);
        }
        for (int v : dst) {
            b.put((byte) v);
        }
        int sum = 0;
        for (int i = 0; i < 20; i += 2) {
            sum += b.getShort(ip + i) & 0xffff;
        }
        sum = (sum & 0xffff) + (sum >>> 16);
        sum = (sum & 0xffff) + (sum >>> 16);
        b.putShort(ip + 10, (short) ~sum);
        b.putShort((short) sport).putShort((short) dport).putShort((short) 26).putShort((short) 0);
        b.putInt(tag);
        return b.array();
    }

    /** The IPv4 source address bytes of a frame built by {@link #udp4}. */
    static int srcByte(byte[] frame, int i) {
        return frame[26 + i] & 0xff;
    }

    static int sport(byte[] frame) {
        return ((frame[34] & 0xff) << 8) | (frame[35] & 0xff);
    }

    static int dport(byte[] frame) {
        return ((frame[36] & 0xff) << 8) | (frame[37] & 0xff);
    }

    static int tag(byte[] frame) {
        return ByteBuffer.wrap(frame, 42, 4).getInt();
    }

    static void writePcap(Path file, List<byte[]> frames) throws IOException {
        long size = PcapFormat.FILE_HEADER_BYTES;
        for (byte[] f : frames) {
            size += PcapFormat.RECORD_HEADER_BYTES + f.length;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(size);
            PcapFormat.writeFileHeader(s, 0, PcapFormat.WRITE_SNAPLEN);
            long off = PcapFormat.FILE_HEADER_BYTES;
            for (byte[] f : frames) {
                PcapFormat.writeRecordHeader(s, off, 0, 0, f.length, f.length);
                MemorySegment.copy(f, 0, s, ValueLayout.JAVA_BYTE, off + PcapFormat.RECORD_HEADER_BYTES, f.length);
                off += PcapFormat.RECORD_HEADER_BYTES + f.length;
            }
            Files.write(file, s.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    static List<byte[]> readPcap(Path file) throws IOException {
        List<byte[]> out = new ArrayList<>();
        try (Arena a = Arena.ofConfined();
                FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment s = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), a);
            PcapFormat.FileHeader h = PcapFormat.parseHeader(s, file.toString());
            ValueLayout.OfInt i32 = h.intLayout();
            long off = PcapFormat.FILE_HEADER_BYTES;
            while (off + PcapFormat.RECORD_HEADER_BYTES <= s.byteSize()) {
                int caplen = s.get(i32, off + 8);
                out.add(s.asSlice(off + PcapFormat.RECORD_HEADER_BYTES, caplen).toArray(ValueLayout.JAVA_BYTE));
                off += PcapFormat.RECORD_HEADER_BYTES + caplen;
            }
        }
        return out;
    }
}
