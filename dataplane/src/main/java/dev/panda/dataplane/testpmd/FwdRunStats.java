package dev.panda.dataplane.testpmd;

import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.fwd.LatencyRecorder;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortStats;
import dev.panda.dataplane.stats.TscRate;
import java.io.PrintStream;
import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * The forward statistics of one forwarding run: the ports' and streams' counters at start or at
 * the last {@code clear fwd stats all}, the run's latency recorders (one per lcore, with
 * {@code --latency}), and the report {@code show fwd stats all} and {@code stop} print. Used by
 * the control thread only; the counters it reads have one writer each.
 */
final class FwdRunStats {

    private final List<Port> ports;
    private final List<LatencyRecorder> recorders;
    private PortStats[] portBase;
    /** Stream counters at the last clear, by stream id; null entries: since start (zero). */
    private final long[][] streamBase;
    /** Burst spreads at the last clear ({@code --record-burst-stats}), by stream id; null: zero. */
    private final long[][] rxSpreadBase;

    private final long[][] txSpreadBase;

    FwdRunStats(List<Port> ports, int streams, List<LatencyRecorder> recorders) {
        this.ports = ports;
        this.recorders = List.copyOf(recorders);
        this.streamBase = new long[streams][];
        this.rxSpreadBase = new long[streams][];
        this.txSpreadBase = new long[streams][];
        this.portBase = snapshot();
    }

    /** Per-stream, per-port and accumulated statistics; then, as asked, busy cycles and the latency. */
    void print(PrintStream out, List<FwdStream> streams, String mode, boolean recordCycles, boolean filter) {
        PortStats[] now = snapshot();
        long[] txDropped = new long[ports.size()];
        long[] filtered = new long[ports.size()];
        long busyNs = 0;
        // --record-burst-stats, where dpdk-testpmd puts it: under each stream when there are more
        // streams than ports, else under each port (that port's last rx and tx stream)
        boolean perStream = streams.size() > ports.size();
        long[][] rxSpread = new long[ports.size()][];
        long[][] txSpread = new long[ports.size()][];
        for (FwdStream fs : streams) {
            long[] c = sinceClear(fs);
            long[] rxs = spreadSinceClear(fs.rxBurstSpread(), fs.id, rxSpreadBase);
            long[] txs = spreadSinceClear(fs.txBurstSpread(), fs.id, txSpreadBase);
            if (StatsFormat.streamStats(out, fs, c[0], c[1], c[2], c[3], c[6]) && perStream) {
                StatsFormat.burstStats(out, "RX", rxs);
                StatsFormat.burstStats(out, "TX", txs);
            }
            if (!perStream) {
                rxSpread[fs.rxPortId] = rxs;
                txSpread[fs.txPortId] = txs;
            }
            txDropped[fs.txPortId] += c[2];
            filtered[fs.rxPortId] += c[5];
            busyNs += c[4];
        }
        long rx = 0, rxd = 0, tx = 0, txd = 0;
        for (int p = 0; p < ports.size(); p++) {
            PortStats d = now[p].minus(portBase[p]);
            long rxDropped = d.imissed() + d.rxNombuf();
            StatsFormat.portFwdStats(
                    out,
                    p,
                    d.ipackets(),
                    rxDropped,
                    d.opackets(),
                    txDropped[p],
                    filter ? filtered[p] : -1,
                    rxSpread[p],
                    txSpread[p]);
            rx += d.ipackets();
            rxd += rxDropped;
            tx += d.opackets();
            txd += txDropped[p];
        }
        StatsFormat.accumulated(out, rx, rxd, tx, txd);
        if (recordCycles && (rx > 0 || tx > 0)) {
            // as dpdk-testpmd: generators are measured per packet sent, the other modes per packet received
            boolean generator = mode.equals("txonly") || mode.equals("flowgen");
            StatsFormat.coreCycles(out, mode, busyNs, generator ? tx : rx, TscRate.hz());
        }
        if (!recorders.isEmpty()) {
            long negative =
                    recorders.stream().mapToLong(LatencyRecorder::negative).sum();
            long clipped =
                    recorders.stream().mapToLong(LatencyRecorder::clipped).sum();
            StatsFormat.latency(out, latency(), negative, clipped);
        }
    }

    /** Everything starts from zero again (the lcores go on). */
    void clear(List<FwdStream> streams) {
        portBase = snapshot();
        for (FwdStream fs : streams) {
            if (fs.id < streamBase.length) {
                streamBase[fs.id] = counts(fs);
                rxSpreadBase[fs.id] = fs.rxBurstSpread();
                txSpreadBase[fs.id] = fs.txBurstSpread();
            }
        }
        for (LatencyRecorder r : recorders) {
            r.reset();
        }
    }

    /** The latency every lcore recorded since start or the last clear, merged. */
    Histogram latency() {
        Histogram h = LatencyRecorder.newHistogram();
        for (LatencyRecorder r : recorders) {
            r.addTo(h);
        }
        return h;
    }

    /** {rx, tx, dropped, bad payload, busy ns, filtered, rate-skipped} of {@code fs} since start or the last clear. */
    private long[] sinceClear(FwdStream fs) {
        long[] c = counts(fs);
        long[] base = fs.id < streamBase.length ? streamBase[fs.id] : null;
        if (base != null) {
            for (int i = 0; i < c.length; i++) {
                c[i] -= base[i];
            }
        }
        return c;
    }

    /** {@code spread} (null when not recorded) less its value at the last clear. */
    private static long[] spreadSinceClear(long[] spread, int id, long[][] bases) {
        long[] base = spread != null && id < bases.length ? bases[id] : null;
        if (base != null) {
            for (int i = 0; i < spread.length; i++) {
                spread[i] -= base[i];
            }
        }
        return spread;
    }

    private static long[] counts(FwdStream fs) {
        return new long[] {
            fs.rxPackets(),
            fs.txPackets(),
            fs.fwdDropped(),
            fs.badPayload(),
            fs.busyNanos(),
            fs.filtered(),
            fs.rateSkipped()
        };
    }

    private PortStats[] snapshot() {
        PortStats[] s = new PortStats[ports.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = ports.get(i).stats();
        }
        return s;
    }
}
