package dev.panda.dataplane.port;

/**
 * What every {@link Port} has besides its bursts: a name, a driver name, per-queue counters, a
 * MAC. Subclasses write their queue's {@link #rxCounters}/{@link #txCounters} from the poller
 * and report what only they know (buffer shortage, drops counted by the kernel or the device)
 * through {@link #rxNombuf()} and {@link #missedElsewhere()}; {@link #stats()} sums it all.
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

    /** Rx buffer shortage so far ({@code rx_nombuf}); 0 for ports that never allocate on rx. */
    protected long rxNombuf() {
        return 0;
    }

    /** Received packets dropped outside the queue counters (kernel or device counts), added to {@code imissed}. */
    protected long missedElsewhere() {
        return 0;
    }

    @Override
    public PortStats stats() {
        PortStats p = QueueCounters.snapshot(rxCounters, txCounters, rxNombuf());
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
