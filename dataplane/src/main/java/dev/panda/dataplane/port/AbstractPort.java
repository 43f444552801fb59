package dev.panda.dataplane.port;

/**
 * What every {@link Port} has besides its bursts: a name, a driver name, per-queue counters, a
 * MAC. Each queue's poller writes every figure it counts (packets, bytes, errors, missed,
 * rx_nombuf) into that queue's own {@link #rxCounters}/{@link #txCounters} entry, never into a
 * per-port field, so queues polled from different lcores lose nothing. {@link #stats()} sums them
 * and adds, in this one place, the rx drops the kernel or the device counts on its own
 * ({@link #missedElsewhere()}, read at stats time).
 *
 * <p>Only identity and counting live here: the hot path stays in the final subclass, so call
 * sites stay monomorphic.
 */
public abstract class AbstractPort implements Port {

    private final String name;
    private final String driverName;
    private final long mac;
    /** One per rx queue, written by that queue's poller only. */
    protected final QueueCounters[] rxCounters;
    /** One per tx queue, written by that queue's poller only. */
    protected final QueueCounters[] txCounters;

    protected AbstractPort(String name, String driverName, int rxQueues, int txQueues, long mac) {
        this.name = name;
        this.driverName = driverName;
        this.mac = mac;
        this.rxCounters = QueueCounters.array(rxQueues);
        this.txCounters = QueueCounters.array(txQueues);
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final String driverName() {
        return driverName;
    }

    @Override
    public final int rxQueueCount() {
        return rxCounters.length;
    }

    @Override
    public final int txQueueCount() {
        return txCounters.length;
    }

    @Override
    public final long mac() {
        return mac;
    }

    /**
     * Received packets the kernel or the device dropped and counted itself (AF_PACKET's
     * PACKET_STATISTICS, AF_XDP's XDP_STATISTICS), read when {@link #stats()} is asked (any
     * thread, not a poller) and added to {@code imissed}; 0 for ports with no such count.
     */
    protected long missedElsewhere() {
        return 0;
    }

    /** The sum of every queue's counters, plus {@link #missedElsewhere()} in imissed. */
    @Override
    public final PortStats stats() {
        PortStats p = QueueCounters.snapshot(rxCounters, txCounters);
        long more = missedElsewhere();
        return more == 0
                ? p
                : new PortStats(
                        p.ipackets(),
                        p.opackets(),
                        p.ibytes(),
                        p.obytes(),
                        p.imissed() + more,
                        p.ierrors(),
                        p.oerrors(),
                        p.rxNombuf());
    }

    @Override
    public String toString() {
        return name;
    }
}
