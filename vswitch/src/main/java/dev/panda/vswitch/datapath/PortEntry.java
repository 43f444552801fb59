package dev.panda.vswitch.datapath;

import dev.panda.dataplane.filter.RxFilterStream;
import dev.panda.dataplane.port.Port;
import dev.panda.vswitch.bridge.VlanPolicy;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A port as the data path sees it: immutable once published in a {@link Snapshot}.
 *
 * <p>{@code filters} holds one rx-filter stream per rx queue (null without a filter). When more
 * threads transmit on the port than it has tx queues, {@code txLocks} serialises each shared queue
 * with a spin lock taken once per burst; otherwise it is null and no lock exists.
 */
public final class PortEntry {

    private static final VarHandle INTS = MethodHandles.arrayElementVarHandle(int[].class);

    public final int id;
    public final String name;
    public final Port port;
    public final VlanPolicy vlan;
    public final BridgeEntry bridge;
    final RxFilterStream[] filters;
    private final int[] txLocks;
    /** The tunnel id (VXLAN VNI) packets received here carry as {@code tun_id}; 0 for other ports. */
    public final long tunnelId;

    /**
     * @param txLocks one lock word per tx queue when queues are shared between transmitting
     *     threads, else null; it outlives snapshots (the port's state owns it), so threads on an old
     *     and a new snapshot take the same lock
     */
    public PortEntry(
            int id,
            String name,
            Port port,
            VlanPolicy vlan,
            BridgeEntry bridge,
            RxFilterStream[] filters,
            int[] txLocks) {
        this(id, name, port, vlan, bridge, filters, txLocks, 0L);
    }

    /** As above, for a tunnel port whose packets carry {@code tunnelId} as tun_id. */
    public PortEntry(
            int id,
            String name,
            Port port,
            VlanPolicy vlan,
            BridgeEntry bridge,
            RxFilterStream[] filters,
            int[] txLocks,
            long tunnelId) {
        this.tunnelId = tunnelId;
        this.id = id;
        this.name = name;
        this.port = port;
        this.vlan = vlan;
        this.bridge = bridge;
        this.filters = filters;
        this.txLocks = txLocks;
    }

    /**
     * Receives a burst on rx queue {@code q} and runs the port's rx filter over it (what it drops is
     * counted in {@code drops}); returns how many packets remain in {@code burst.handles[0..)}.
     */
    int receive(int q, dev.panda.dataplane.port.PacketBurst burst, DropCounters drops) {
        int n = port.rxBurst(q, burst);
        RxFilterStream f = n == 0 || filters == null ? null : filters[q];
        if (f != null) {
            int kept = f.apply(burst, n);
            drops.add(id, DropCounters.FILTER, n - kept);
            n = kept;
        }
        return n;
    }

    /** Sends {@code burst.handles[0..n)} on {@code queue}, under its lock when the queue is shared. */
    int transmit(int queue, dev.panda.dataplane.port.PacketBurst burst, int n) {
        if (txLocks == null) {
            return port.txBurst(queue, burst, n);
        }
        while (!INTS.compareAndSet(txLocks, queue, 0, 1)) {
            Thread.onSpinWait();
        }
        try {
            return port.txBurst(queue, burst, n);
        } finally {
            INTS.setRelease(txLocks, queue, 0);
        }
    }
}
