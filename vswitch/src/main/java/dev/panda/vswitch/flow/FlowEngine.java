package dev.panda.vswitch.flow;

import dev.panda.dataplane.mem.PacketPool;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Runs packets through a bridge's flow tables on one data-path thread: parses the packet into a
 * {@link FlowKey}, looks each table up through the thread's exact-match {@link FlowCache} (in
 * front of the tuple-space {@link Classifier}), counts, and carries out the instructions on the
 * packet in place (apply-actions at once, write/clear-actions into the action set, goto-table),
 * handing packets to the bridge through {@link Egress}. Everything is preallocated: nothing is
 * allocated per packet.
 *
 * <p>An output is held back until the packet is next changed or output again, so the last output
 * sends the packet itself and only earlier ones cost a copy.
 */
public final class FlowEngine {

    /** Where the engine sends packets; implemented by the bridge's data path (the switching code). */
    public interface Egress {
        /** Queues {@code h} unchanged for tx on {@code port}, or frees it if that port is not on the bridge. */
        void output(int h, int port);

        /** Sends {@code h} unchanged to every port of the bridge but {@code inPort}. */
        void flood(int h, int inPort);

        /** Switches {@code h} as the learning bridge would, as received on {@code inPort}. */
        void normal(int h, int inPort);

        /** Frees {@code h}. */
        void drop(int h);
    }

    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int NONE = 0;
    private static final VarHandle DROPS, NO_BUFFER, PACKETS;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            DROPS = l.findVarHandle(FlowEngine.class, "drops", long.class);
            NO_BUFFER = l.findVarHandle(FlowEngine.class, "noBuffer", long.class);
            PACKETS = l.findVarHandle(FlowEngine.class, "packets", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final PacketPool pool;
    private final MemorySegment seg;
    private final int thread;
    private final FlowKey key = new FlowKey();
    private final FlowCache cache = new FlowCache();

    // the packet being processed
    private int cur;
    private int inPort;
    private long tunId;
    private BridgeFlows flows;
    private Egress out;
    private int pending;

    // the action set (write-actions), one slot per action kind
    private boolean setPop;
    private int setPush;
    private boolean setEthSrc, setEthDst, setVid;
    private long valEthSrc, valEthDst;
    private int valVid;
    private int setOut;
    private int setOutMax;

    private boolean bypassCache;
    private long drops;
    private long noBuffer;
    private long packets;

    /**
     * @param thread this thread's index among those that run flows (0..threads-1 of
     *     {@link BridgeFlows}): it picks the counter slots the thread writes alone
     */
    public FlowEngine(PacketPool pool, int thread) {
        this.pool = pool;
        this.seg = pool.segment();
        this.thread = thread;
    }

    /** For benchmarks: look every table up in the classifier, past the exact-match cache. */
    public void bypassCache(boolean bypass) {
        this.bypassCache = bypass;
    }

    public long cacheHits() {
        return cache.hits();
    }

    public long cacheMisses() {
        return cache.misses();
    }

    /** Packets the tables dropped (no output, or a table-miss that drops). */
    public long drops() {
        return (long) DROPS.getOpaque(this);
    }

    /** Outputs lost because no buffer was free for a copy. */
    public long noBuffer() {
        return (long) NO_BUFFER.getOpaque(this);
    }

    /** Packets run through the tables. */
    public long packets() {
        return (long) PACKETS.getOpaque(this);
    }

    /** Runs packet {@code h}, received on {@code port} (tunnel id {@code tun}), through {@code f}'s tables. */
    public void process(int h, int port, long tun, BridgeFlows f, Egress egress) {
        PACKETS.setOpaque(this, packets + 1);
        if (pool.length(h) < 14) { // not even an Ethernet header
            DROPS.setOpaque(this, drops + 1);
            egress.drop(h);
            return;
        }
        begin(h, port, tun, f, egress);
        reparse();
        pipeline(f.classifier(), 0);
        finish();
    }

    private void begin(int h, int port, long tun, BridgeFlows f, Egress egress) {
        cur = h;
        inPort = port;
        tunId = tun;
        flows = f;
        out = egress;
        pending = NONE;
        setPop = false;
        setPush = 0;
        setEthSrc = setEthDst = setVid = false;
        setOut = NONE;
    }

    private void reparse() {
        key.parse(seg, pool.dataOffset(cur), pool.length(cur), inPort, tunId);
    }

    private void pipeline(Classifier c, int table) {
        while (true) {
            Rule r = bypassCache ? c.lookup(table, key.w) : cache.lookup(c, table, key.w);
            flows.countLookup(thread, table, r != null);
            if (r == null) {
                if (flows.missIsNormal()) {
                    output(OfPort.NORMAL, 0, null, table);
                }
                return; // OpenFlow 1.3: a table-miss without a flow drops (the action set too)
            }
            r.counters.add(thread, pool.length(cur));
            if (r.apply != null) {
                for (Action a : r.apply) {
                    act(a, r, table);
                }
            }
            if (r.clear) {
                setPop = false;
                setPush = 0;
                setEthSrc = setEthDst = setVid = false;
                setOut = NONE;
            }
            if (r.write != null) {
                for (Action a : r.write) {
                    write(a);
                }
            }
            if (r.gotoTable < 0) {
                runActionSet(r, table);
                return;
            }
            table = r.gotoTable;
        }
    }

    private void write(Action a) {
        switch (a) {
            case Action.Output o -> {
                setOut = o.port();
                setOutMax = o.maxLen();
            }
            case Action.PushVlan p -> setPush = p.ethertype();
            case Action.PopVlan p -> setPop = true;
            case Action.SetField s -> {
                switch (s.field()) {
                    case ETH_SRC -> {
                        setEthSrc = true;
                        valEthSrc = s.value();
                    }
                    case ETH_DST -> {
                        setEthDst = true;
                        valEthDst = s.value();
                    }
                    case VLAN_VID -> {
                        setVid = true;
                        valVid = (int) s.value() & 0xfff;
                    }
                    default -> {}
                }
            }
        }
    }

    /** The action set in OpenFlow's order: pop, push, set-field, output. */
    private void runActionSet(Rule r, int table) {
        if (setPop) {
            popVlan();
        }
        if (setPush != 0) {
            pushVlan(setPush);
        }
        if (setEthSrc) {
            setMac(6, valEthSrc);
        }
        if (setEthDst) {
            setMac(0, valEthDst);
        }
        if (setVid) {
            setVlanVid(valVid);
        }
        if (setOut != NONE) {
            output(setOut, setOutMax, r, table);
        }
    }

    private void act(Action a, Rule r, int table) {
        switch (a) {
            case Action.Output o -> output(o.port(), o.maxLen(), r, table);
            case Action.PushVlan p -> pushVlan(p.ethertype());
            case Action.PopVlan p -> popVlan();
            case Action.SetField s -> {
                switch (s.field()) {
                    case ETH_SRC -> setMac(6, s.value());
                    case ETH_DST -> setMac(0, s.value());
                    case VLAN_VID -> setVlanVid((int) s.value() & 0xfff);
                    default -> {}
                }
            }
        }
    }

    private void output(int port, int maxLen, Rule r, int table) {
        if (port == OfPort.CONTROLLER) {
            toController(maxLen, r, table);
            return;
        }
        if (OfPort.isPhysical(port) && port == inPort) {
            return; // OpenFlow: not back out of the port it came in on, unless IN_PORT says so
        }
        if (pending != NONE) {
            int c = copy(cur);
            if (c >= 0) {
                send(c, pending);
            }
        }
        pending = port;
    }

    private void toController(int maxLen, Rule r, int table) {
        if (!flows.controllerConnected()) {
            flows.countNoController();
            return;
        }
        int len = pool.length(cur);
        int max = maxLen == OfPort.NO_BUFFER || r == null ? len : maxLen;
        flows.packetIns.offer(
                seg,
                pool.dataOffset(cur),
                len,
                max,
                inPort,
                tunId,
                table,
                r != null && r.tableMiss ? PacketIn.Reason.NO_MATCH.code : PacketIn.Reason.ACTION.code,
                r == null ? -1L : r.cookie);
    }

    private void send(int h, int port) {
        switch (port) {
            case OfPort.IN_PORT -> {
                if (OfPort.isPhysical(inPort)) {
                    out.output(h, inPort);
                } else {
                    out.drop(h);
                }
            }
            case OfPort.FLOOD, OfPort.ALL -> out.flood(h, inPort);
            case OfPort.NORMAL -> {
                if (OfPort.isPhysical(inPort)) {
                    out.normal(h, inPort);
                } else {
                    out.drop(h);
                }
            }
            default -> out.output(h, port);
        }
    }

    /** Sends what an output held back before the packet changes. */
    private void flushPending() {
        if (pending != NONE) {
            int c = copy(cur);
            if (c >= 0) {
                send(c, pending);
            }
            pending = NONE;
        }
    }

    private void finish() {
        if (pending != NONE) {
            send(cur, pending);
            pending = NONE;
        } else {
            DROPS.setOpaque(this, drops + 1);
            out.drop(cur);
        }
        flows = null;
        out = null;
    }

    private int copy(int h) {
        int c = pool.alloc();
        if (c < 0) {
            NO_BUFFER.setOpaque(this, noBuffer + 1);
            return -1;
        }
        int len = pool.length(h);
        MemorySegment.copy(seg, pool.dataOffset(h), seg, pool.dataOffset(c), len);
        pool.setLength(c, len);
        return c;
    }

    private void setMac(int at, long mac) {
        flushPending();
        long base = pool.dataOffset(cur);
        seg.set(BE32, base + at, (int) (mac >>> 16));
        seg.set(BE16, base + at + 4, (short) mac);
        int w = at == 0 ? 1 : 0;
        key.w[w] = (key.w[w] & 0xffffL) | (mac << 16);
    }

    private boolean tagged() {
        return (key.w[1] & Field.OFPVID_PRESENT) != 0;
    }

    private void setVlanVid(int vid) {
        if (!tagged()) {
            return; // nothing to set on an untagged frame
        }
        flushPending();
        long base = pool.dataOffset(cur);
        int tci = Short.toUnsignedInt(seg.get(BE16, base + 14));
        seg.set(BE16, base + 14, (short) ((tci & 0xf000) | vid));
        key.w[1] = (key.w[1] & ~0xfffL) | vid;
    }

    private void pushVlan(int ethertype) {
        flushPending();
        long base = pool.dataOffset(cur);
        if (base - pool.bufferOffset(cur) < 4) {
            NO_BUFFER.setOpaque(this, noBuffer + 1);
            return;
        }
        int tci = tagged() ? Short.toUnsignedInt(seg.get(BE16, base + 14)) : 0;
        pool.adjust(cur, -4);
        MemorySegment.copy(seg, base, seg, base - 4, 12);
        seg.set(BE16, base + 8, (short) ethertype);
        seg.set(BE16, base + 10, (short) tci);
        reparse();
    }

    private void popVlan() {
        if (!tagged()) {
            return;
        }
        flushPending();
        long base = pool.dataOffset(cur);
        MemorySegment.copy(seg, base, seg, base + 4, 12);
        pool.adjust(cur, 4);
        reparse();
    }

    /**
     * Sends the PACKET_OUTs queued on {@code f}: each frame is copied into a buffer and its
     * actions run; an output to TABLE runs a copy through the tables. Returns how many were sent.
     */
    public int packetOuts(BridgeFlows f, Egress egress) {
        int n = 0;
        BridgeFlows.PacketOut po;
        while ((po = f.takePacketOut()) != null) {
            n++;
            int h = pool.alloc();
            if (h < 0) {
                NO_BUFFER.setOpaque(this, noBuffer + 1);
                continue;
            }
            byte[] frame = po.frame();
            int len = Math.min(frame.length, pool.dataRoom());
            MemorySegment.copy(frame, 0, seg, ValueLayout.JAVA_BYTE, pool.dataOffset(h), len);
            pool.setLength(h, len);
            begin(h, po.inPort(), 0, f, egress);
            reparse();
            for (Action a : po.actions()) {
                if (a instanceof Action.Output o && o.port() == OfPort.TABLE) {
                    flushPending();
                    int c = copy(cur);
                    if (c >= 0) {
                        int saved = cur;
                        process(c, po.inPort(), 0, f, egress);
                        begin(saved, po.inPort(), 0, f, egress);
                        reparse();
                    }
                } else {
                    act(a, null, 0);
                }
            }
            finish();
        }
        return n;
    }

    /** Exposes the key for tests: the fields of the packet last parsed. */
    FlowKey key() {
        return key;
    }
}
