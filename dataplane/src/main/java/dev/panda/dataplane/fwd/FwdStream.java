package dev.panda.dataplane.fwd;

import dev.panda.dataplane.filter.RxFilterStream;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.stats.Counter;
import java.util.Arrays;

/**
 * One forwarding stream: rx port/queue to tx port/queue, driven by one lcore. It owns the burst
 * array and the stream counters, and has the shared helpers engines use so each engine is a few
 * lines: {@link #receive()}, {@link #transmit(int)} (which frees and counts what the port refused).
 * With an rx filter, {@link #receive()} applies it right after the port's rxBurst, so every
 * engine sees only the packets the filter passed.
 */
public final class FwdStream {

    public final int id;
    public final Port rxPort;
    public final int rxPortId;
    public final int rxQueue;
    public final Port txPort;
    public final int txPortId;
    public final int txQueue;
    public final PacketPool pool;
    public final PacketBurst burst;
    public final FwdConfig config;
    /** The receive filter of this stream, or null. */
    public final RxFilterStream filter;
    /** Where received timed packets' latency goes ({@code --latency}; shared by the lcore's streams), or null. */
    public final LatencyRecorder latency;

    // written by the stream's lcore only, read by any thread
    private final Counter rxPackets = new Counter();
    private final Counter txPackets = new Counter();
    private final Counter fwdDropped = new Counter();
    private final Counter badPayload = new Counter();
    private final Counter busyNanos = new Counter();
    private final Counter rateSkipped = new Counter();
    /**
     * {@code --record-burst-stats}: how many rx and tx calls returned each count, indexed by the
     * count (0..{@link PacketBurst#MAX_BURST}), as dpdk-testpmd's pkt_burst_spread; null when not
     * recorded. Plain longs written by the lcore only; readers see them at most a burst late.
     */
    private long[] rxBurstSpread;

    private long[] txBurstSpread;

    public FwdStream(
            int id,
            Port rxPort,
            int rxPortId,
            int rxQueue,
            Port txPort,
            int txPortId,
            int txQueue,
            PacketPool pool,
            FwdConfig config) {
        this(id, rxPort, rxPortId, rxQueue, txPort, txPortId, txQueue, pool, config, null);
    }

    /** A stream whose received bursts go through {@code filter} (null for none) first. */
    public FwdStream(
            int id,
            Port rxPort,
            int rxPortId,
            int rxQueue,
            Port txPort,
            int txPortId,
            int txQueue,
            PacketPool pool,
            FwdConfig config,
            RxFilterStream filter) {
        this(id, rxPort, rxPortId, rxQueue, txPort, txPortId, txQueue, pool, config, filter, null);
    }

    /**
     * A stream whose received bursts go through {@code filter} (null for none) first and whose
     * timed packets are recorded in {@code latency} (null for none).
     */
    public FwdStream(
            int id,
            Port rxPort,
            int rxPortId,
            int rxQueue,
            Port txPort,
            int txPortId,
            int txQueue,
            PacketPool pool,
            FwdConfig config,
            RxFilterStream filter,
            LatencyRecorder latency) {
        this.id = id;
        this.latency = latency;
        this.filter = filter;
        this.rxPort = rxPort;
        this.rxPortId = rxPortId;
        this.rxQueue = rxQueue;
        this.txPort = txPort;
        this.txPortId = txPortId;
        this.txQueue = txQueue;
        this.pool = pool;
        this.config = config;
        this.burst = new PacketBurst(config.burst());
    }

    /**
     * Receives a burst into {@link #burst} and counts it; returns how many arrived (and, with a
     * filter, passed it: the others are already freed or sent back and counted by the filter).
     */
    public int receive() {
        int n = rxPort.rxBurst(rxQueue, burst);
        long[] spread = rxBurstSpread;
        if (spread != null) {
            spread[n]++;
        }
        if (n > 0) {
            rxPackets.add(n);
            if (filter != null) {
                n = filter.apply(burst, n);
            }
            if (latency != null && n > 0) {
                latency.record(pool, burst, n);
            }
        }
        return n;
    }

    /** Packets the rx filter took out of this stream (dropped, aborted, failed XDP_TX); 0 without one. */
    public long filtered() {
        return filter == null ? 0 : filter.filtered();
    }

    /** Sends {@code burst.handles[0..n)}; what the tx port refuses is freed and counted as dropped. */
    public int transmit(int n) {
        if (n == 0) {
            return 0;
        }
        int sent = txPort.txBurst(txQueue, burst, n);
        txPackets.add(sent);
        long[] spread = txBurstSpread;
        if (spread != null) {
            spread[sent]++;
        }
        if (sent < n) {
            pool.freeBulk(burst.handles, sent, n - sent);
            fwdDropped.add(n - sent);
        }
        return sent;
    }

    /** Frees {@code burst.handles[0..n)} without counting a drop (rxonly's normal end). */
    public void consume(int n) {
        pool.freeBulk(burst.handles, 0, n);
    }

    /**
     * Records from now on how many packets each rx and tx call moved ({@code --record-burst-stats}):
     * every rx call counts, the empty ones too; a tx call counts when there was something to send.
     * Call before the stream's lcore starts.
     */
    public void recordBurstStats() {
        rxBurstSpread = new long[PacketBurst.MAX_BURST + 1];
        txBurstSpread = new long[PacketBurst.MAX_BURST + 1];
    }

    /** A copy of the rx calls by packets returned (index: packets), or null when not recorded. */
    public long[] rxBurstSpread() {
        return rxBurstSpread == null ? null : rxBurstSpread.clone();
    }

    /** A copy of the tx calls by packets sent (index: packets), or null when not recorded. */
    public long[] txBurstSpread() {
        return txBurstSpread == null ? null : txBurstSpread.clone();
    }

    /** Counts packets an engine dropped on purpose (not answered, malformed). */
    public void countDropped(int n) {
        fwdDropped.add(n);
    }

    public void countBadPayload(int n) {
        badPayload.add(n);
    }

    /** Adds busy time of this stream's lcore ({@code --record-core-cycles}); the lcore only. */
    public void countBusyNanos(long ns) {
        busyNanos.add(ns);
    }

    /** Time the lcore spent in passes of this stream that moved packets, when it records it. */
    public long busyNanos() {
        return busyNanos.get();
    }

    /** Counts packets a paced generator gave up because it fell behind ({@link TxPacer}); the lcore only. */
    public void countRateSkipped(long n) {
        rateSkipped.add(n);
    }

    /** Packets this stream's paced generator gave up (more than 1 ms behind its rate). */
    public long rateSkipped() {
        return rateSkipped.get();
    }

    public long rxPackets() {
        return rxPackets.get();
    }

    public long txPackets() {
        return txPackets.get();
    }

    public long fwdDropped() {
        return fwdDropped.get();
    }

    public long badPayload() {
        return badPayload.get();
    }

    /** Zeroes the counters; only while no lcore runs the stream. */
    public void resetCounters() {
        rxPackets.reset();
        txPackets.reset();
        fwdDropped.reset();
        badPayload.reset();
        busyNanos.reset();
        rateSkipped.reset();
        if (rxBurstSpread != null) {
            Arrays.fill(rxBurstSpread, 0);
            Arrays.fill(txBurstSpread, 0);
        }
    }
}
