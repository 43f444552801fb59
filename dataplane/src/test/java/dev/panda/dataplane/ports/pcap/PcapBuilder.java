package dev.panda.dataplane.ports.pcap;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes synthetic libpcap captures for tests, independently of {@link PcapWriter}. */
final class PcapBuilder {

    private final ByteOrder order;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    private PcapBuilder(ByteOrder order) {
        this.order = order;
    }

    /** A v2.4 Ethernet capture in {@code order}, microsecond or nanosecond timestamps. */
    static PcapBuilder ethernet(ByteOrder order, boolean nanos) {
        return custom(order, nanos ? PcapFormat.MAGIC_NANOS : PcapFormat.MAGIC_MICROS, 2, 4, 65535, 1);
    }

    static PcapBuilder ethernet() {
        return ethernet(ByteOrder.LITTLE_ENDIAN, false);
    }

    static PcapBuilder custom(ByteOrder order, int magic, int major, int minor, int snaplen, int linktype) {
        PcapBuilder b = new PcapBuilder(order);
        ByteBuffer h = ByteBuffer.allocate(24).order(order);
        h.putInt(magic)
                .putShort((short) major)
                .putShort((short) minor)
                .putInt(0)
                .putInt(0)
                .putInt(snaplen)
                .putInt(linktype);
        b.out.writeBytes(h.array());
        return b;
    }

    /** A record whose caplen and len are the packet's length. */
    PcapBuilder record(byte[] packet) {
        return record(1_700_000_000, 123, packet.length, packet.length, packet);
    }

    /** A record with explicit header fields; {@code data} is written as is (may disagree with caplen). */
    PcapBuilder record(int sec, int frac, int caplen, int len, byte[] data) {
        ByteBuffer h = ByteBuffer.allocate(16).order(order);
        h.putInt(sec).putInt(frac).putInt(caplen).putInt(len);
        out.writeBytes(h.array());
        out.writeBytes(data);
        return this;
    }

    PcapBuilder raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    Path writeTo(Path path) {
        try {
            return Files.write(path, bytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A recognisable frame: 14-byte Ethernet header then bytes derived from {@code seed}. */
    static byte[] frame(int length, int seed) {
        byte[] f = new byte[length];
        for (int i = 0; i < length; i++) {
            f[i] = (byte) (seed * 31 + i * 7 + (i >> 8));
        }
        if (length >= 14) {
            f[12] = 0x08; // IPv4 ethertype, so tools show something sensible
            f[13] = 0x00;
        }
        return f;
    }
}
