package dev.panda.dataplane.ports.pcap;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.AbstractPort;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.QueueCounters;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * One rx queue replaying a capture ({@link PcapReader}, or nothing without {@code rx_pcap}) and
 * one tx queue recording to a capture ({@link PcapWriter}, or a counting sink without
 * {@code tx_pcap}). Transmitted buffers are copied to the file and freed at once, and rx frees
 * what it does not hand out within the call, so the port never holds a buffer between calls.
 */
final class PcapPort extends AbstractPort {

    private static final System.Logger LOG = System.getLogger(PcapPort.class.getName());

    private final PacketPool pool;
    private final MemorySegment poolRegion;
    private final Arena rxArena;
    private final PcapReader reader;
    private final PcapWriter writer;
    private boolean txFailed;
    private volatile boolean closed;

    /**
     * @param rxFile  the mapped capture (owned by {@code rxArena}), or null for no rx
     * @param writer  the capture to record to, or null to free and count only
     */
    PcapPort(
            String name,
            PacketPool pool,
            int portId,
            Arena rxArena,
            MemorySegment rxFile,
            String rxSource,
            boolean infinite,
            PcapWriter writer) {
        super(name, PcapPortDriver.NAME, 1, 1, 0x02_70_6e_00_02_00L | (portId & 0xff));
        this.pool = pool;
        this.poolRegion = pool.segment();
        this.rxArena = rxArena;
        this.reader = rxFile == null ? null : new PcapReader(rxFile, rxSource, infinite, pool, rxCounters[0]);
        this.writer = writer;
    }

    @Override
    public int rxBurst(int queue, PacketBurst burst) {
        Objects.checkIndex(queue, 1);
        int n = reader == null || closed ? 0 : reader.rxBurst(burst.handles, burst.maxBurst());
        burst.size = n;
        return n;
    }

    @Override
    public int txBurst(int queue, PacketBurst burst, int n) {
        QueueCounters c = txCounters[queue];
        if (closed) {
            c.addErrors(n);
            return 0;
        }
        int[] handles = burst.handles;
        long bytes = 0;
        if (writer != null && !txFailed) {
            long micros = writer.nowMicros();
            try {
                for (int i = 0; i < n; i++) {
                    int h = handles[i];
                    int len = pool.length(h);
                    writer.append(poolRegion, pool.dataOffset(h), len, micros);
                    bytes += len;
                }
            } catch (IOException e) {
                txFailed = true;
                LOG.log(
                        System.Logger.Level.ERROR,
                        name() + ": writing " + writer.path() + " failed, tx now drops"
                                + " every packet (counted in oerrors): " + e);
            }
        } else {
            for (int i = 0; i < n; i++) {
                bytes += pool.length(handles[i]);
            }
        }
        // Accepted packets belong to the port: written (or dropped) and freed here.
        pool.freeBulk(handles, 0, n);
        if (txFailed) {
            c.addErrors(n);
        } else {
            c.add(n, bytes);
        }
        return n;
    }

    @Override
    public LinkStatus link() {
        return closed ? LinkStatus.DOWN : LinkStatus.VIRTUAL_UP;
    }

    /** The rx side, for tests. */
    PcapReader reader() {
        return reader;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (writer != null) {
                writer.close();
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.ERROR, name() + ": flushing " + writer.path() + " on close failed: " + e);
        } finally {
            if (rxArena != null) {
                rxArena.close();
            }
        }
    }

    @Override
    public String toString() {
        return name() + "[rx " + (reader == null ? "none" : reader.source()) + ", tx "
                + (writer == null ? "none" : writer.path()) + "]";
    }
}
