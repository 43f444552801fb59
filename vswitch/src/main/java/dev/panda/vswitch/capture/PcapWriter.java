package dev.panda.vswitch.capture;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A pcap file with nanosecond timestamps (magic 0xa1b23c4d, version 2.4, LINKTYPE_ETHERNET), the
 * format tcpdump, tshark and Wireshark read as {@code pcap (nsec)}. Little-endian, as written on
 * this machine.
 */
public final class PcapWriter implements AutoCloseable {

    public static final int MAGIC_NANOS = 0xa1b23c4d;
    public static final int LINKTYPE_ETHERNET = 1;

    private final OutputStream out;
    private final ByteBuffer header = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    private long packets;

    public PcapWriter(OutputStream out, int snaplen) throws IOException {
        this.out = new BufferedOutputStream(out, 1 << 16);
        ByteBuffer g = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        g.putInt(MAGIC_NANOS).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0);
        g.putInt(snaplen).putInt(LINKTYPE_ETHERNET);
        this.out.write(g.array());
    }

    /** One packet: {@code data[off..off+capLen)} of a frame {@code origLen} long, at {@code tsNanos}. */
    public void write(long tsNanos, int origLen, byte[] data, int off, int capLen) throws IOException {
        header.clear();
        header.putInt((int) (tsNanos / 1_000_000_000L)).putInt((int) (tsNanos % 1_000_000_000L));
        header.putInt(capLen).putInt(origLen);
        out.write(header.array());
        out.write(data, off, capLen);
        packets++;
    }

    public long packets() {
        return packets;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
