package dev.panda.vswitch.datapath;

import java.util.List;

/**
 * One immutable view of the switch: ports by id, bridges with their members, and which rx queues
 * each poller polls. The control thread builds a new one for every change and publishes it with
 * a volatile write; pollers and pipeline stages read it between bursts, never under a lock.
 */
public final class Snapshot {

    /** Port ids are 1..MAX_PORTS-1 (0 is "no port" in the FDB). */
    public static final int MAX_PORTS = 256;

    public final long generation;
    final PortEntry[] ports;
    final BridgeEntry[] bridges;
    final int[][] rxqPort;
    final int[][] rxqQueue;

    /**
     * @param rxqs for each poller, its rx queues as {@code {portId, queue}} pairs
     */
    public Snapshot(long generation, List<PortEntry> ports, List<BridgeEntry> bridges, List<List<int[]>> rxqs) {
        this.generation = generation;
        this.ports = new PortEntry[MAX_PORTS];
        for (PortEntry p : ports) {
            this.ports[p.id] = p;
        }
        this.bridges = bridges.toArray(new BridgeEntry[0]);
        for (BridgeEntry b : this.bridges) {
            b.members = ports.stream().filter(p -> p.bridge == b).toArray(PortEntry[]::new);
        }
        rxqPort = new int[rxqs.size()][];
        rxqQueue = new int[rxqs.size()][];
        for (int i = 0; i < rxqs.size(); i++) {
            List<int[]> l = rxqs.get(i);
            rxqPort[i] = l.stream().mapToInt(a -> a[0]).toArray();
            rxqQueue[i] = l.stream().mapToInt(a -> a[1]).toArray();
        }
    }

    public static Snapshot empty(int pollers) {
        return new Snapshot(0, List.of(), List.of(), java.util.Collections.nCopies(pollers, List.of()));
    }

    /** Poller {@code poller}'s rx queues as {@code {portId, queue}} pairs. */
    public List<int[]> rxqs(int poller) {
        List<int[]> l = new java.util.ArrayList<>();
        for (int i = 0; i < rxqPort[poller].length; i++) {
            l.add(new int[] {rxqPort[poller][i], rxqQueue[poller][i]});
        }
        return l;
    }
}
