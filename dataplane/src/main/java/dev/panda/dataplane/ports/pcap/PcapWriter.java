package dev.panda.dataplane.ports.pcap;

import static dev.panda.dataplane.ports.pcap.PcapFormat.FILE_HEADER_BYTES;
import static dev.panda.dataplane.ports.pcap.PcapFormat.RECORD_HEADER_BYTES;
import static dev.panda.dataplane.ports.pcap.PcapFormat.WRITE_SNAPLEN;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Writes a libpcap capture: native byte order, version 2.4, microsecond timestamps, snaplen
 * 65535, LINKTYPE_ETHERNET, which tcpdump, Wireshark and DPDK's net_pcap all read.
 *
 * <p>Records are appended to one direct buffer allocated at open and written to the file with
 * {@link FileChannel#write} when the next record would not fit, on {@link #flush()} and on
 * {@link #close()}. Timestamps come from a wall-clock base taken at open plus
 * {@link System#nanoTime()}, so taking one allocates nothing. Single-threaded: the tx poller's
 * (and the closer's, once the poller has stopped).
 */
final class PcapWriter implements AutoCloseable {

    /** Buffer size: many records per write, and always room for the largest one. */
    static final int BUFFER_BYTES = 1 << 20;

    private final Path path;
    private final FileChannel channel;
    private final ByteBuffer buffer;
    private final MemorySegment segment;
    private final long baseMicros;
    private final long baseNanos;
    private int fill;
    private boolean closed;

    private PcapWriter(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
        this.buffer = ByteBuffer.allocateDirect(BUFFER_BYTES);
        this.segment = MemorySegment.ofBuffer(buffer);
        this.baseMicros = System.currentTimeMillis() * 1000;
        this.baseNanos = System.nanoTime();
    }

    /** Creates (or truncates) {@code path} and writes the file header to it. */
    static PcapWriter create(Path path) throws IOException {
        FileChannel ch = FileChannel.open(
                path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        try {
            PcapWriter w = new PcapWriter(path, ch);
            PcapFormat.writeFileHeader(w.segment, 0, WRITE_SNAPLEN);
            w.fill = FILE_HEADER_BYTES;
            // A port opened and closed without traffic still leaves a valid (empty) capture.
            w.flush();
            return w;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Microseconds since the epoch, from the clock base taken at open. */
    long nowMicros() {
        return baseMicros + (System.nanoTime() - baseNanos) / 1000;
    }

    /**
     * Appends one record holding {@code len} bytes of {@code src} at {@code offset} (cut to the
     * snaplen, with the wire length kept in the header), flushing first when the buffer is full.
     */
    void append(MemorySegment src, long offset, int len, long micros) throws IOException {
        int caplen = Math.min(len, WRITE_SNAPLEN);
        if (fill + RECORD_HEADER_BYTES + caplen > BUFFER_BYTES) {
            flush();
        }
        PcapFormat.writeRecordHeader(
                segment, fill, (int) (micros / 1_000_000), (int) (micros % 1_000_000), caplen, len);
        MemorySegment.copy(src, offset, segment, fill + RECORD_HEADER_BYTES, caplen);
        fill += RECORD_HEADER_BYTES + caplen;
    }

    /** Writes what is buffered to the file. */
    void flush() throws IOException {
        if (fill == 0) {
            return;
        }
        buffer.clear().limit(fill);
        try {
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        } finally {
            // What did not reach the file is dropped rather than written twice.
            fill = 0;
        }
    }

    Path path() {
        return path;
    }

    /** Flushes and closes the file; idempotent. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            flush();
        } finally {
            channel.close();
        }
    }
}
