package dev.panda.dataplane.ports.pcap;

import static dev.panda.dataplane.ports.pcap.PcapFormat.FILE_HEADER_BYTES;
import static dev.panda.dataplane.ports.pcap.PcapFormat.MAX_SNAPLEN;
import static dev.panda.dataplane.ports.pcap.PcapFormat.OFF_CAPLEN;
import static dev.panda.dataplane.ports.pcap.PcapFormat.RECORD_HEADER_BYTES;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.QueueCounters;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Replays the records of a libpcap capture held in a {@link MemorySegment} (a read-only file
 * mapping, or any bytes in a test) into pool buffers. Single-threaded: the rx poller's.
 *
 * <p>The capture is untrusted. Every record header is checked against the bytes that are left
 * before its packet is copied:
 * <ul>
 *   <li>a record whose header or packet runs past the end of the data (truncated file), or whose
 *       caplen exceeds {@link PcapFormat#MAX_SNAPLEN} (corrupt header), ends the data there: one
 *       ierror, and rx stops cleanly (with {@code infinite_rx} the replay wraps at that point);</li>
 *   <li>an intact record longer than the file's snaplen or than a pool buffer is skipped: one
 *       ierror each time it is met.</li>
 * </ul>
 * The first problem is logged once; later ones are only counted.
 *
 * <p>{@link #rxBurst} takes its buffers with one {@code allocBulk}, copies each packet with
 * {@code MemorySegment.copy} from the file into the pool region and returns what it did not fill
 * with one {@code freeBulk}: no allocation per packet or per burst.
 */
public final class PcapReader {

    private static final System.Logger LOG = System.getLogger(PcapReader.class.getName());
    private static final int TRUNCATED_HEADER = 1;
    private static final int TRUNCATED_PACKET = 2;
    private static final int ABSURD_CAPLEN = 3;
    private static final int OVER_SNAPLEN = 4;
    private static final int OVER_BUFFER = 5;

    private final MemorySegment file;
    private final String source;
    private final ValueLayout.OfInt u32;
    private final int snaplen;
    private final boolean infinite;
    private final PacketPool pool;
    private final MemorySegment poolRegion;
    private final int maxLen;
    private final QueueCounters counters;

    /** Next record header. */
    private long pos = FILE_HEADER_BYTES;
    /** End of the usable data: the file's size, or where a broken record starts. */
    private long end;
    /** Nothing more will ever be read. */
    private boolean exhausted;

    private boolean deliveredThisPass;
    private boolean logged;
    private long passes;
    // The record advance() found.
    private long recData;
    private int recLen;

    /**
     * @param file     the whole capture, file header included
     * @param source   how errors and the log name the capture, e.g. the port and the path
     * @param infinite replay from the first record after the last one (DPDK's infinite_rx)
     * @param counters the rx queue's counters: packets, bytes, ierrors and rx_nombuf go there
     * @throws dev.panda.dataplane.port.DeviceException when the file header is not a libpcap
     *         Ethernet capture
     */
    public PcapReader(MemorySegment file, String source, boolean infinite, PacketPool pool, QueueCounters counters) {
        PcapFormat.FileHeader header = PcapFormat.parseHeader(file, source);
        this.file = file;
        this.source = source;
        this.u32 = header.intLayout();
        this.snaplen = header.snaplen();
        this.infinite = infinite;
        this.pool = pool;
        this.poolRegion = pool.segment();
        this.maxLen = pool.maxPacketLength();
        this.counters = counters;
        this.end = file.byteSize();
    }

    /**
     * Fills {@code handles[0..k)} with up to {@code max} packets and returns k. Buffers the pool
     * could not give are counted in the queue's rx_nombuf for the packets that were waiting for them;
     * those packets stay in the file for the next call.
     */
    public int rxBurst(int[] handles, int max) {
        if (exhausted) {
            return 0;
        }
        int got = pool.allocBulk(handles, 0, max);
        int n = 0;
        long bytes = 0;
        while (n < got && advance()) {
            int h = handles[n];
            MemorySegment.copy(file, recData, poolRegion, pool.dataOffset(h), recLen);
            pool.setLength(h, recLen);
            bytes += recLen;
            n++;
        }
        if (n < got) {
            pool.freeBulk(handles, n, got - n);
        }
        if (got < max) {
            int waiting = countAhead(max - got);
            if (waiting > 0) {
                counters.addNombuf(waiting);
            }
        }
        if (n > 0) {
            counters.add(n, bytes);
        }
        return n;
    }

    /**
     * Moves to the next deliverable record, skipping oversized ones and wrapping in infinite
     * mode; sets {@link #recData} and {@link #recLen}. False when there is nothing more.
     */
    private boolean advance() {
        while (!exhausted) {
            long p = pos;
            long left = end - p;
            if (left == 0) {
                if (infinite && deliveredThisPass) {
                    // DPDK's infinite_rx: the capture replays forever. A pass that delivered
                    // nothing ends it, so a capture of only bad records cannot spin.
                    pos = FILE_HEADER_BYTES;
                    deliveredThisPass = false;
                    passes++;
                    continue;
                }
                exhausted = true;
                return false;
            }
            if (left < RECORD_HEADER_BYTES) {
                broken(p, TRUNCATED_HEADER, left);
                continue;
            }
            long caplen = Integer.toUnsignedLong(file.get(u32, p + OFF_CAPLEN));
            if (caplen > MAX_SNAPLEN) {
                broken(p, ABSURD_CAPLEN, caplen);
                continue;
            }
            if (caplen > left - RECORD_HEADER_BYTES) {
                broken(p, TRUNCATED_PACKET, caplen);
                continue;
            }
            pos = p + RECORD_HEADER_BYTES + caplen;
            if (caplen > snaplen) {
                problem(p, OVER_SNAPLEN, caplen);
                continue;
            }
            if (caplen > maxLen) {
                problem(p, OVER_BUFFER, caplen);
                continue;
            }
            recData = p + RECORD_HEADER_BYTES;
            recLen = (int) caplen;
            deliveredThisPass = true;
            return true;
        }
        return false;
    }

    /** The data ends at {@code at}: what follows cannot be framed. */
    private void broken(long at, int kind, long value) {
        end = at;
        pos = at;
        problem(at, kind, value);
    }

    private void problem(long at, int kind, long value) {
        counters.addErrors(1);
        if (logged) {
            return;
        }
        logged = true;
        String what = switch (kind) {
            case TRUNCATED_HEADER ->
                "record header truncated (" + value + " of " + RECORD_HEADER_BYTES + " bytes left); rx stops there";
            case TRUNCATED_PACKET ->
                "record truncated (caplen " + value + ", " + (file.byteSize() - at - RECORD_HEADER_BYTES)
                        + " bytes left); rx stops there";
            case ABSURD_CAPLEN -> "corrupt record header (caplen " + value + " > " + MAX_SNAPLEN + "); rx stops there";
            case OVER_SNAPLEN ->
                "record caplen " + value + " exceeds the file's snaplen " + snaplen + "; packet skipped";
            case OVER_BUFFER ->
                "packet of " + value + " bytes does not fit a pool buffer (" + maxLen + " bytes); packet skipped";
            default -> "unknown problem " + kind;
        };
        LOG.log(
                System.Logger.Level.WARNING,
                "{0}: offset {1}: {2} (counted in ierrors; further problems" + " are only counted)",
                source,
                Long.toString(at),
                what);
    }

    /** Deliverable records ahead, up to {@code limit}, without moving or counting anything. */
    private int countAhead(int limit) {
        if (exhausted) {
            return 0;
        }
        if (infinite && (deliveredThisPass || passes > 0)) {
            return limit;
        }
        long p = pos;
        int c = 0;
        while (c < limit && end - p >= RECORD_HEADER_BYTES) {
            long caplen = Integer.toUnsignedLong(file.get(u32, p + OFF_CAPLEN));
            if (caplen > MAX_SNAPLEN || caplen > end - p - RECORD_HEADER_BYTES) {
                break;
            }
            if (caplen <= snaplen && caplen <= maxLen) {
                c++;
            }
            p += RECORD_HEADER_BYTES + caplen;
        }
        return c;
    }

    /** True once the reader will return nothing more (end of file without infinite replay). */
    public boolean exhausted() {
        return exhausted;
    }

    /** How many times the replay wrapped to the first record. */
    public long passes() {
        return passes;
    }

    public String source() {
        return source;
    }
}
