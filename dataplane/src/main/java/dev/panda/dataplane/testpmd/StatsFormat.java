package dev.panda.dataplane.testpmd;

import dev.panda.dataplane.fwd.FwdStream;
import dev.panda.dataplane.port.PortStats;
import java.io.PrintStream;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * testpmd's report layouts, character for character, so scripts that grep DPDK's output keep
 * working: NIC statistics, forward statistics per stream, per port and accumulated.
 */
final class StatsFormat {

    private static final String NIC_BORDER = "########################";
    private static final String FWD_BORDER = "----------------------";
    private static final String ACC_BORDER = "+++++++++++++++";

    private StatsFormat() {}

    /** {@code show port stats N}; rates are over {@code seconds} since the previous show. */
    static void nicStats(PrintStream out, int port, PortStats s, PortStats prev, double seconds, long filtered) {
        out.printf("%n  %s NIC statistics for port %-2d %s%n", NIC_BORDER, port, NIC_BORDER);
        out.printf("  RX-packets: %-10d RX-missed: %-10d RX-bytes:  %d%n", s.ipackets(), s.imissed(), s.ibytes());
        out.printf("  RX-errors: %d%n", s.ierrors());
        out.printf("  RX-nombuf:  %-10d%n", s.rxNombuf());
        if (filtered >= 0) {
            filterLine(out, filtered);
        }
        out.printf("  TX-packets: %-10d TX-errors: %-10d TX-bytes:  %d%n", s.opackets(), s.oerrors(), s.obytes());
        long rxPps = rate(s.ipackets() - prev.ipackets(), seconds);
        long txPps = rate(s.opackets() - prev.opackets(), seconds);
        long rxBps = rate(s.ibytes() - prev.ibytes(), seconds) * 8;
        long txBps = rate(s.obytes() - prev.obytes(), seconds) * 8;
        out.printf("%n  Throughput (since last show)%n");
        out.printf(
                "  Rx-pps: %12d          Rx-bps: %12d%n  Tx-pps: %12d          Tx-bps: %12d%n",
                rxPps, rxBps, txPps, txBps);
        out.printf("  %s############################%s%n", NIC_BORDER, NIC_BORDER);
    }

    private static long rate(long delta, double seconds) {
        return seconds <= 0 ? 0 : Math.max(0, Math.round(delta / seconds));
    }

    /** Prints a stream's block unless it moved and dropped nothing; returns whether it printed. */
    static boolean streamStats(PrintStream out, FwdStream fs, long rx, long tx, long dropped, long bad, long skipped) {
        if (rx == 0 && tx == 0 && dropped == 0) {
            return false;
        }
        out.printf(
                "%n  ------- Forward Stats for RX Port=%2d/Queue=%2d -> TX Port=%2d/Queue=%2d -------%n",
                fs.rxPortId, fs.rxQueue, fs.txPortId, fs.txQueue);
        out.printf("  RX-packets: %-14d TX-packets: %-14d TX-dropped: %-14d", rx, tx, dropped);
        if (bad > 0) {
            out.printf("%n  RX-bad-payload: %-14d", bad);
        }
        if (skipped > 0) {
            // --tx-rate: packets given up because the generator fell more than 1 ms behind
            out.printf("%n  TX-rate-skipped: %-14d", skipped);
        }
        if (fs.filter != null) {
            out.printf(
                    "%n  RX-filter-pass: %-10d RX-filtered: %-10d (dropped %d, aborted %d, xdp-tx %d, xdp-tx-failed %d)",
                    fs.filter.passed(),
                    fs.filter.filtered(),
                    fs.filter.dropped(),
                    fs.filter.aborted(),
                    fs.filter.bounced(),
                    fs.filter.txFailed());
        }
        out.printf("%n");
        return true;
    }

    /**
     * {@code filtered} < 0: no rx filter, no filter line; {@code rxSpread} and {@code txSpread}:
     * the burst spreads to show under the port ({@code --record-burst-stats}), null for none.
     */
    static void portFwdStats(
            PrintStream out,
            int port,
            long rx,
            long rxDropped,
            long tx,
            long txDropped,
            long filtered,
            long[] rxSpread,
            long[] txSpread) {
        out.printf("%n  %s Forward statistics for port %-2d %s%n", FWD_BORDER, port, FWD_BORDER);
        rxTxLines(out, rx, rxDropped, tx, txDropped);
        burstStats(out, "RX", rxSpread);
        burstStats(out, "TX", txSpread);
        if (filtered >= 0) {
            filterLine(out, filtered);
        }
        out.printf("  %s--------------------------------%s%n", FWD_BORDER, FWD_BORDER);
    }

    /**
     * dpdk-testpmd's burst line ({@code --record-burst-stats}, 22.11's pkt_burst_stats_display):
     * the number of calls, then the share of empty calls, then the two packet counts most calls
     * returned, then the rest as "other"; each share truncated to a whole percent, the last one
     * printed as what the others leave of 100. Nothing when {@code spread} is null or all zero.
     */
    static void burstStats(PrintStream out, String rxTx, long[] spread) {
        if (spread == null) {
            return;
        }
        long[] calls = new long[3];
        int[] packets = new int[3];
        long total = spread[0];
        calls[0] = spread[0];
        for (int n = 1; n < spread.length; n++) {
            long c = spread[n];
            if (c == 0) {
                continue;
            }
            total += c;
            if (c > calls[1]) {
                calls[2] = calls[1];
                packets[2] = packets[1];
                calls[1] = c;
                packets[1] = n;
            } else if (c > calls[2]) {
                calls[2] = c;
                packets[2] = n;
            }
        }
        if (total == 0) {
            return;
        }
        StringBuilder b = new StringBuilder();
        b.append("  ").append(rxTx).append("-bursts : ").append(total).append(" [");
        long sum = 0;
        int percentSum = 0;
        for (int i = 0; ; i++) {
            if (i == 3) {
                b.append(100 - percentSum).append("% of other]");
                break;
            }
            sum += calls[i];
            if (sum == total) {
                b.append(100 - percentSum).append("% of ").append(packets[i]).append(" pkts]");
                break;
            }
            int percent = (int) ((double) calls[i] / total * 100);
            b.append(percent).append("% of ").append(packets[i]).append(" pkts + ");
            percentSum += percent;
        }
        out.printf("%s%n", b);
    }

    /** Packets of one port the rx filter took out (dropped, aborted): not RX errors, not RX-dropped. */
    static void filterLine(PrintStream out, long filtered) {
        out.printf("  RX-filtered: %d%n", filtered);
    }

    static void accumulated(PrintStream out, long rx, long rxDropped, long tx, long txDropped) {
        out.printf("%n  %s Accumulated forward statistics for all ports%s%n", ACC_BORDER, ACC_BORDER);
        rxTxLines(out, rx, rxDropped, tx, txDropped);
        out.printf("  %s%s%n", ACC_BORDER.repeat(4), "++++++++++++++++");
    }

    private static void rxTxLines(PrintStream out, long rx, long rxDropped, long tx, long txDropped) {
        out.printf("  RX-packets: %-14d RX-dropped: %-14dRX-total: %d%n", rx, rxDropped, rx + rxDropped);
        out.printf("  TX-packets: %-14d TX-dropped: %-14dTX-total: %d%n", tx, txDropped, tx + txDropped);
    }

    /**
     * dpdk-testpmd's {@code --record-core-cycles} line (22.11's fwd_stats_display): busy cycles
     * over {@code packets}, which are the transmitted ones for txonly and flowgen and the received
     * ones otherwise; the clock in whole MHz.
     */
    static void coreCycles(PrintStream out, String mode, long busyNanos, long packets, double tscHz) {
        long cycles = Math.round(busyNanos * (tscHz / 1e9));
        String perPacket = packets > 0
                ? String.format(Locale.ROOT, "%.2f", (double) cycles / packets)
                : (cycles > 0 ? "inf" : "-nan"); // what printf("%.2F") shows for x/0 in C
        out.printf(
                Locale.ROOT,
                "%n  CPU cycles/packet=%s (total cycles=%d / total %s packets=%d) at %d MHz Clock%n",
                perPacket,
                cycles,
                mode,
                packets,
                (long) (tscHz / 1e6));
    }

    /** The one-way latency line of {@code --latency}, in nanoseconds. */
    static void latency(PrintStream out, Histogram h, long negative, long clipped) {
        if (h.getTotalCount() == 0) {
            out.printf("%n  Latency (one-way, ns): no timed packets received%n");
        } else {
            out.printf(
                    Locale.ROOT,
                    "%n  Latency (one-way, ns): packets=%d min=%d p50=%d p99=%d p99.9=%d p99.99=%d max=%d%n",
                    h.getTotalCount(),
                    h.getMinValue(),
                    h.getValueAtPercentile(50),
                    h.getValueAtPercentile(99),
                    h.getValueAtPercentile(99.9),
                    h.getValueAtPercentile(99.99),
                    h.getMaxValue());
        }
        if (negative > 0 || clipped > 0) {
            out.printf(
                    "  Latency: %d stamp(s) later than their arrival (not recorded), %d above 10 s (recorded as 10 s)%n",
                    negative, clipped);
        }
    }
}
