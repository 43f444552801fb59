package dev.panda.vswitch.datapath;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.vswitch.bridge.Fdb;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FlowEngine;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The learning bridge, per packet, for one data-path thread: {@link #classify} (parse, ingress
 * VLAN, learn, look up) and {@link #emit} (replicate for a flood, egress VLAN, stage for tx), then
 * {@link #flush} once per burst. Run-to-completion calls both on the poller; the pipeline calls
 * classify on its classify stage and emit on its tx stage.
 *
 * <p>Everything here is preallocated per thread: staging bursts per egress port, a list of the
 * ports with staged packets, a burst of packets to free. Nothing is allocated per packet.
 */
public final class Switching {

    /**
     * Decision kinds, in bits 12..13 of a decision; bits 0..11 the VLAN, bit 14 {@link #TAGGED},
     * 16..31 the port.
     */
    static final int DROP = 0;

    static final int UNICAST = 1 << 12;
    static final int FLOOD = 2 << 12;
    /** The bridge runs OpenFlow tables: {@link #emit} runs the packet through them. */
    static final int FLOW = 3 << 12;

    private static final int KIND_MASK = 3 << 12;
    /** The frame arrived with an 802.1Q tag (so an untagged frame leaving untagged needs no retag). */
    static final int TAGGED = 1 << 14;

    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong BE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final long MULTICAST = 0x0100_0000_0000L;
    private static final int ETHERTYPE_VLAN = 0x8100;

    private final PacketPool pool;
    private final MemorySegment seg;
    private final int threadIndex;
    private final int burstSize;
    final DropCounters counters = new DropCounters();

    private final PacketBurst[] staged = new PacketBurst[Snapshot.MAX_PORTS];
    private final int[] pending = new int[Snapshot.MAX_PORTS];
    private final boolean[] isPending = new boolean[Snapshot.MAX_PORTS];
    private int pendingCount;
    /** The captures this thread offers transmitted frames to, set by the thread at each pass. */
    dev.panda.vswitch.capture.Taps taps = dev.panda.vswitch.capture.Taps.NONE;
    /** This thread's index among the data-path threads that offer frames to captures. */
    int tapSlot;

    private final int[] freeList;
    private int freeCount;
    private final FlowEngine flow;
    private final FlowEgress egress = new FlowEgress();
    /** Seconds for the FDB when a flow says NORMAL (set by {@link #classify} or {@link #tick}). */
    private int now;

    /*
     * Memos of the last FDB learn, FDB lookup and unicast egress within the current burst, as VPP's
     * l2-learn and l2-fwd nodes keep a cached key and result per frame: a burst mostly carries one
     * conversation, so its packets after the first skip the FDB probes and the egress port's VLAN
     * checks. beginBurst() forgets them, so nothing outlives a burst: a learn refreshes its entry's
     * time at least once per burst, and a snapshot or FDB change is seen from the next burst on. A
     * learn that is not skipped forgets the lookup memo, since it may have taught the FDB that MAC.
     */
    private int learnedPort = -1;
    private int learnedVlan;
    private long learnedMac;
    private boolean learnedOk;
    private Fdb lookupFdb;
    private int lookupVlan;
    private long lookupMac;
    private int lookupOut;
    private Snapshot egressSnapshot;
    private int egressDecision;
    private int egressIn;
    private PortEntry egressOut;
    private int egressTag;

    /**
     * @param threadIndex this thread's index among the threads that transmit; it picks the tx
     *     queue ({@code threadIndex % txQueueCount}) on every port
     */
    public Switching(PacketPool pool, int threadIndex, int burstSize) {
        this.pool = pool;
        this.seg = pool.segment();
        this.threadIndex = threadIndex;
        this.burstSize = burstSize;
        this.freeList = new int[PacketBurst.MAX_BURST * 2];
        for (int i = 0; i < staged.length; i++) {
            staged[i] = new PacketBurst(burstSize);
        }
        this.flow = new FlowEngine(pool, threadIndex);
    }

    /** This thread's flow-table engine (its exact-match cache counters). */
    public FlowEngine flowEngine() {
        return flow;
    }

    /** The clock for the FDB, for a thread that only emits (the pipeline's tx stage). */
    void tick(int nowSeconds) {
        this.now = nowSeconds;
    }

    public DropCounters counters() {
        return counters;
    }

    /**
     * Run to completion for one received burst: classifies and emits each packet, then flushes.
     * Its own method so that the JIT profiles the per-packet calls only over bursts: inlined
     * into a poll loop that is mostly idle, they look cold to C2 and stay out of line.
     */
    void switchBurst(int[] h, int n, PortEntry in, int nowSeconds, Snapshot s) {
        beginBurst();
        for (int k = 0; k < n; k++) {
            emit(h[k], classify(h[k], in, nowSeconds), in.id, s);
        }
        flush(s);
    }

    /** Forgets the per-burst memos; called before each burst is classified or emitted. */
    void beginBurst() {
        learnedPort = -1;
        lookupFdb = null;
        egressSnapshot = null;
    }

    /** The decision for packet {@code h} received on {@code in}; drops are counted here. */
    int classify(int h, PortEntry in, int nowSeconds) {
        now = nowSeconds;
        BridgeFlows f = in.bridge.flows;
        if (f != null && f.engaged()) {
            return FLOW;
        }
        return normal(h, in, nowSeconds);
    }

    /**
     * The learning bridge's decision (NORMAL). The memo hits are here and the misses, drops and
     * counts in methods of their own, so that this and {@link #emit} stay under the JIT's size for
     * inlining a hot call and compile into the burst's loop.
     */
    private int normal(int h, PortEntry in, int nowSeconds) {
        long base = pool.dataOffset(h);
        int len = pool.length(h);
        if (len < 14) {
            return drop(in, DropCounters.MALFORMED);
        }
        // two loads for the header: destination and the source's first two bytes, then the source
        // and the EtherType
        long dst = seg.get(BE64, base) >>> 16;
        long w = seg.get(BE64, base + 6);
        long src = w >>> 16;
        int vid = -1;
        int tagged = 0;
        if ((int) (w & 0xFFFF) == ETHERTYPE_VLAN) {
            if (len < 18) {
                return drop(in, DropCounters.MALFORMED);
            }
            vid = Short.toUnsignedInt(seg.get(BE16, base + 14)) & 0xFFF;
            tagged = TAGGED;
        }
        int vlan = in.vlan.ingress(vid);
        if (vlan < 0) {
            return drop(in, DropCounters.VLAN);
        }
        return forward(in, vlan, src, dst, tagged, nowSeconds);
    }

    /** {@link #normal} once the frame is parsed: learn {@code src}, look up {@code dst}. */
    private int forward(PortEntry in, int vlan, long src, long dst, int tagged, int nowSeconds) {
        Fdb fdb = in.bridge.fdb;
        if ((src & MULTICAST) == 0
                && (in.id != learnedPort || src != learnedMac || vlan != learnedVlan || !learnedOk)) {
            learn(fdb, vlan, src, in, nowSeconds);
        }
        if ((dst & MULTICAST) != 0) {
            return FLOOD | tagged | vlan;
        }
        if (fdb != lookupFdb || dst != lookupMac || vlan != lookupVlan) {
            lookup(fdb, vlan, dst);
        }
        int out = lookupOut;
        if (out < 0) {
            return FLOOD | tagged | vlan;
        }
        if (out == in.id) {
            return drop(in, DropCounters.SAME_PORT);
        }
        return (out << 16) | UNICAST | tagged | vlan;
    }

    /** Counts a drop of {@code what} on {@code in}; returns {@link #DROP}. */
    private int drop(PortEntry in, int what) {
        counters.add(in.id, what, 1);
        return DROP;
    }

    /** The learn memo missed (or the table was full): learns, remembers, counts a full table. */
    private void learn(Fdb fdb, int vlan, long src, PortEntry in, int nowSeconds) {
        boolean ok = fdb.learn(vlan, src, in.id, nowSeconds);
        learnedOk = ok;
        learnedPort = in.id;
        learnedMac = src;
        learnedVlan = vlan;
        lookupFdb = null;
        if (!ok) {
            counters.add(in.id, DropCounters.TABLE_FULL, 1);
        }
    }

    /** The lookup memo missed: looks up and remembers. */
    private void lookup(Fdb fdb, int vlan, long dst) {
        lookupOut = fdb.lookup(vlan, dst);
        lookupFdb = fdb;
        lookupMac = dst;
        lookupVlan = vlan;
    }

    /**
     * Carries out {@code decision} for packet {@code h} that arrived on port {@code inId}: stages it
     * on its egress port (or a copy on each port of a flood), or frees it.
     */
    void emit(int h, int decision, int inId, Snapshot s) {
        if (decision == egressDecision && inId == egressIn && s == egressSnapshot) {
            stageTagged(egressOut, h, egressTag, (decision & TAGGED) != 0);
            return;
        }
        emitResolving(h, decision, inId, s);
    }

    /** {@link #emit} past the egress memo: resolves the decision (and remembers a unicast's). */
    private void emitResolving(int h, int decision, int inId, Snapshot s) {
        int kind = decision & KIND_MASK;
        int vlan = decision & 0xFFF;
        boolean tagged = (decision & TAGGED) != 0;
        PortEntry in = s.ports[inId];
        if (kind == FLOW) {
            if (in == null || in.bridge.flows == null) {
                counters.add(inId, DropCounters.NO_PORT, 1);
                free(h);
                return;
            }
            egress.bind(s, in.bridge);
            flow.process(h, in.id, in.tunnelId, in.bridge.flows, egress);
            return;
        }
        if (kind == UNICAST) {
            PortEntry out = s.ports[decision >>> 16];
            if (out != null && out.bridge == (in == null ? null : in.bridge) && out.vlan.carries(vlan)) {
                int tag = out.vlan.egressTag(vlan);
                egressSnapshot = s;
                egressDecision = decision;
                egressIn = inId;
                egressOut = out;
                egressTag = tag;
                stageTagged(out, h, tag, tagged);
                return;
            }
            kind = FLOOD; // its port left (or changed VLANs) since it was learned
        }
        if (kind == FLOOD && in != null) {
            flood(h, vlan, tagged, in);
            return;
        }
        if (in == null) {
            counters.add(inId, DropCounters.NO_PORT, 1);
        }
        free(h);
    }

    private void flood(int h, int vlan, boolean tagged, PortEntry in) {
        PortEntry[] members = in.bridge.members;
        PortEntry last = null;
        counters.add(in.id, DropCounters.FLOODS, 1);
        for (PortEntry p : members) {
            if (p == in || !p.vlan.carries(vlan)) {
                continue;
            }
            if (last != null) {
                int copy = pool.alloc();
                if (copy < 0) {
                    counters.add(last.id, DropCounters.NO_BUFFER, 1);
                } else {
                    int len = pool.length(h);
                    MemorySegment.copy(seg, pool.dataOffset(h), seg, pool.dataOffset(copy), len);
                    pool.setLength(copy, len);
                    stage(last, copy, vlan, tagged);
                }
            }
            last = p;
        }
        if (last == null) {
            free(h);
        } else {
            stage(last, h, vlan, tagged);
        }
    }

    /** Tags or untags the frame as {@code out} carries {@code vlan}, and queues it for tx. */
    private void stage(PortEntry out, int h, int vlan, boolean tagged) {
        stageTagged(out, h, out.vlan.egressTag(vlan), tagged);
    }

    /**
     * Gives the frame 802.1Q tag {@code tag} (none when 0) and queues it for tx on {@code out};
     * {@code tagged} says whether it arrived with a tag.
     */
    private void stageTagged(PortEntry out, int h, int tag, boolean tagged) {
        if ((tag != 0 || tagged) && !retag(h, tag, tagged)) {
            counters.add(out.id, DropCounters.NO_BUFFER, 1);
            free(h);
            return;
        }
        enqueue(out, h);
    }

    /** Queues the frame unchanged for tx on {@code out}. */
    private void enqueue(PortEntry out, int h) {
        PacketBurst b = staged[out.id];
        if (!isPending[out.id]) {
            isPending[out.id] = true;
            pending[pendingCount++] = out.id;
        }
        b.handles[b.size++] = h;
        if (b.size == burstSize) {
            transmit(out, b);
        }
    }

    /**
     * Makes the frame carry 802.1Q tag {@code vid}, or no tag when 0; {@code tagged} says whether
     * it carries one now. False if there is no headroom for a tag.
     */
    private boolean retag(int h, int vid, boolean tagged) {
        long base = pool.dataOffset(h);
        if (vid == 0) {
            if (tagged) {
                MemorySegment.copy(seg, base, seg, base + 4, 12);
                pool.adjust(h, 4);
            }
            return true;
        }
        if (tagged) {
            int tci = Short.toUnsignedInt(seg.get(BE16, base + 14));
            seg.set(BE16, base + 14, (short) ((tci & 0xF000) | vid));
            return true;
        }
        if (pool.dataOffset(h) - pool.bufferOffset(h) < 4) {
            return false;
        }
        pool.adjust(h, -4);
        MemorySegment.copy(seg, base, seg, base - 4, 12);
        seg.set(BE16, base + 8, (short) ETHERTYPE_VLAN);
        seg.set(BE16, base + 10, (short) vid);
        return true;
    }

    /**
     * Sends the PACKET_OUTs the control side queued on any bridge of {@code s} (one thread of the
     * data path calls this); returns how many. The caller flushes.
     */
    int packetOuts(Snapshot s) {
        beginBurst();
        int n = 0;
        for (BridgeEntry b : s.bridges) {
            if (b.flows != null && b.flows.hasPacketOuts()) {
                egress.bind(s, b);
                n += flow.packetOuts(b.flows, egress);
            }
        }
        return n;
    }

    /**
     * After the flush that follows {@link #packetOuts}: the PACKET_OUTs taken are out, which a
     * BARRIER_REPLY behind them waits for.
     */
    static void packetOutsFlushed(Snapshot s) {
        for (BridgeEntry b : s.bridges) {
            if (b.flows != null) {
                b.flows.packetOutsFlushed();
            }
        }
    }

    /** True if a bridge of {@code s} has PACKET_OUTs waiting. */
    static boolean hasPacketOuts(Snapshot s) {
        for (BridgeEntry b : s.bridges) {
            if (b.flows != null && b.flows.hasPacketOuts()) {
                return true;
            }
        }
        return false;
    }

    /** How the flow engine hands packets to this bridge: as-is outputs, floods, NORMAL. */
    private final class FlowEgress implements FlowEngine.Egress {
        private Snapshot s;
        private BridgeEntry bridge;

        void bind(Snapshot snapshot, BridgeEntry b) {
            this.s = snapshot;
            this.bridge = b;
        }

        @Override
        public void output(int h, int port) {
            PortEntry p = port > 0 && port < Snapshot.MAX_PORTS ? s.ports[port] : null;
            if (p == null || p.bridge != bridge) {
                counters.add(0, DropCounters.NO_PORT, 1);
                free(h);
                return;
            }
            enqueue(p, h);
        }

        @Override
        public void flood(int h, int inPort) {
            PortEntry last = null;
            for (PortEntry p : bridge.members) {
                if (p.id == inPort) {
                    continue;
                }
                if (last != null) {
                    int copy = pool.alloc();
                    if (copy < 0) {
                        counters.add(last.id, DropCounters.NO_BUFFER, 1);
                    } else {
                        int len = pool.length(h);
                        MemorySegment.copy(seg, pool.dataOffset(h), seg, pool.dataOffset(copy), len);
                        pool.setLength(copy, len);
                        enqueue(last, copy);
                    }
                }
                last = p;
            }
            if (last == null) {
                free(h);
            } else {
                enqueue(last, h);
            }
        }

        @Override
        public void normal(int h, int inPort) {
            PortEntry in = inPort > 0 && inPort < Snapshot.MAX_PORTS ? s.ports[inPort] : null;
            if (in == null || in.bridge != bridge) {
                free(h);
                return;
            }
            int d = Switching.this.normal(h, in, now);
            emit(h, d, inPort, s);
        }

        @Override
        public void drop(int h) {
            free(h);
        }
    }

    private void transmit(PortEntry out, PacketBurst b) {
        int n = b.size;
        int q = threadIndex % out.port.txQueueCount();
        taps.sending(out.id, out.port, pool, seg, b.handles, n, tapSlot);
        int sent = out.transmit(q, b, n);
        if (sent < n) {
            counters.add(out.id, DropCounters.TX_FULL, n - sent);
            pool.freeBulk(b.handles, sent, n - sent);
        }
        b.size = 0;
    }

    private void free(int h) {
        if (freeCount == freeList.length) {
            pool.freeBulk(freeList, 0, freeCount);
            freeCount = 0;
        }
        freeList[freeCount++] = h;
    }

    /** Sends what is staged and frees what was dropped; called at the end of every burst. */
    void flush(Snapshot s) {
        for (int i = 0; i < pendingCount; i++) {
            int id = pending[i];
            isPending[id] = false;
            PacketBurst b = staged[id];
            if (b.size == 0) {
                continue;
            }
            PortEntry out = s.ports[id];
            if (out == null) {
                counters.add(id, DropCounters.NO_PORT, b.size);
                pool.freeBulk(b.handles, 0, b.size);
                b.size = 0;
            } else {
                transmit(out, b);
            }
        }
        pendingCount = 0;
        if (freeCount > 0) {
            pool.freeBulk(freeList, 0, freeCount);
            freeCount = 0;
        }
    }
}
