package dev.panda.vswitch.openflow;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;

/** A bridge for channel tests: ports as given, flows kept in a list (add, strict delete, delete all). */
final class FakeDatapath implements OfDatapath {

    final String name;
    final List<PortInfo> ports = new CopyOnWriteArrayList<>();
    final List<OfMessage.FlowMod> flowMods = new CopyOnWriteArrayList<>();
    final List<FlowStats> flows = new CopyOnWriteArrayList<>();
    final List<OfMessage.PacketOut> packetOuts = new CopyOnWriteArrayList<>();
    final ConcurrentLinkedQueue<byte[]> packetIns = new ConcurrentLinkedQueue<>();
    volatile boolean connected;
    /** FLOW_MODs since the channel last called {@link #flush}, and how many times it did. */
    volatile int unflushed;

    volatile int flushes;

    /** How many PORT_STATS requests the channel has carried out. */
    final java.util.concurrent.atomic.AtomicInteger portStatsCalls = new java.util.concurrent.atomic.AtomicInteger();

    int tables = 4;

    FakeDatapath(String name, int nPorts) {
        this.name = name;
        for (int i = 1; i <= nPorts; i++) {
            ports.add(new PortInfo(i, "p" + i, new byte[] {2, 0, 0, 0, 0, (byte) i}, true, 10_000_000));
        }
    }

    @Override
    public String bridge() {
        return name;
    }

    @Override
    public long datapathId() {
        return 0x0000_5a5a_0000_0001L;
    }

    @Override
    public int tables() {
        return tables;
    }

    @Override
    public List<PortInfo> ports() {
        return List.copyOf(ports);
    }

    @Override
    public List<PortCounters> portCounters(int ofport) throws OfError {
        portStatsCalls.incrementAndGet();
        List<PortCounters> out = new ArrayList<>();
        for (PortInfo p : ports) {
            if (ofport == Of.PP_ANY || ofport == p.ofport()) {
                out.add(new PortCounters(
                        p.ofport(), 10L * p.ofport(), 20L * p.ofport(), 1000, 2000, 1, 2, 3, 4, 5_500_000_000L));
            }
        }
        if (out.isEmpty()) {
            throw new OfError(Of.ET_BAD_REQUEST, Of.BRC_BAD_PORT, "no port " + ofport);
        }
        return out;
    }

    @Override
    public void flowMod(OfMessage.FlowMod m) throws OfError {
        flowMods.add(m);
        unflushed++;
        if (m.tableId() >= tables && m.tableId() != Of.TT_ALL) {
            throw new OfError(Of.ET_FLOW_MOD_FAILED, Of.FMFC_BAD_TABLE_ID, "table " + m.tableId());
        }
        switch (m.command()) {
            case Of.FC_ADD -> {
                flows.removeIf(f -> f.priority() == m.priority() && f.match().equals(m.match()));
                flows.add(new FlowStats(
                        m.tableId(),
                        0,
                        m.priority(),
                        m.idleTimeout(),
                        m.hardTimeout(),
                        m.flags(),
                        m.cookie(),
                        7,
                        700,
                        m.match(),
                        m.instructions()));
            }
            case Of.FC_DELETE ->
                flows.removeIf(f -> m.match().isEmpty() || f.match().containsAll(m.match()));
            case Of.FC_DELETE_STRICT ->
                flows.removeIf(f -> f.priority() == m.priority() && f.match().equals(m.match()));
            default -> {
                List<FlowStats> next = new ArrayList<>();
                for (FlowStats f : flows) {
                    boolean hit = m.command() == Of.FC_MODIFY_STRICT
                            ? f.priority() == m.priority() && f.match().equals(m.match())
                            : f.match().containsAll(m.match());
                    next.add(
                            hit
                                    ? new FlowStats(
                                            f.tableId(),
                                            0,
                                            f.priority(),
                                            f.idleTimeout(),
                                            f.hardTimeout(),
                                            f.flags(),
                                            f.cookie(),
                                            f.packets(),
                                            f.bytes(),
                                            f.match(),
                                            m.instructions())
                                    : f);
                }
                flows.clear();
                flows.addAll(next);
            }
        }
    }

    @Override
    public List<FlowStats> flowStats(OfMessage.FlowStatsRequest r) {
        return flows.stream().filter(f -> f.match().containsAll(r.match())).toList();
    }

    @Override
    public List<TableStats> tableStats() {
        List<TableStats> out = new ArrayList<>();
        for (int i = 0; i < tables; i++) {
            int t = i;
            out.add(new TableStats(
                    i, flows.stream().filter(f -> f.tableId() == t).count(), 100 + i, 50 + i));
        }
        return out;
    }

    @Override
    public void packetOut(OfMessage.PacketOut m) {
        unflushedAtPacketOut.add(unflushed);
        packetOuts.add(m);
    }

    /** For each PACKET_OUT, how many FLOW_MODs the "data path" lacked when it came. */
    final List<Integer> unflushedAtPacketOut = new CopyOnWriteArrayList<>();

    /** A big table: a barrier leaves the flush to {@link #flushWhenDue} (which never comes here). */
    volatile boolean bigTable;

    @Override
    public long flushForBarrier() {
        if (bigTable && unflushed > 0) {
            return 50_000_000L;
        }
        flush();
        return 0;
    }

    @Override
    public long flushWhenDue() {
        return flushForBarrier();
    }

    /** How many PACKET_OUTs the "data path" has sent; -1: all of them at once. */
    volatile long packetOutsSent = -1;

    @Override
    public long packetOutMark() {
        return packetOuts.size();
    }

    @Override
    public long packetOutsSent() {
        long n = packetOutsSent;
        return n < 0 ? packetOuts.size() : n;
    }

    @Override
    public void flush() {
        if (unflushed > 0) {
            flushes++;
            unflushed = 0;
        }
    }

    @Override
    public void controllerConnected(boolean c) {
        connected = c;
    }

    @Override
    public void drainEvents(EventSink sink) {
        byte[] f;
        while ((f = packetIns.poll()) != null) {
            sink.packetIn(Of.R_NO_MATCH, 0, 0, 1, 0, f, f.length, -1);
        }
    }
}
