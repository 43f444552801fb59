package dev.panda.vswitch.vxlan;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.AbstractPort;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.stats.Counter;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Map;

/**
 * A VXLAN tunnel port (RFC 7348): a bridge port like any other for the pollers, one rx and one tx
 * queue. {@link #txBurst} encapsulates each frame from the bridge (outer headers written into the
 * buffer's headroom, or the frame moved back when the headroom is short) and sends it on the
 * shared {@link Underlay} to the remote VTEP's MAC, once ARP has resolved it; {@link #rxBurst}
 * polls the underlay (if no other tunnel's poller is polling it) and hands out the decapsulated
 * frames the underlay put into this tunnel's inbox. Nothing is allocated per packet.
 */
public final class VxlanPort extends AbstractPort {

    private static final VarHandle HEAD;
    private static final VarHandle TAIL;

    static {
        try {
            var l = MethodHandles.lookup();
            HEAD = l.findVarHandle(VxlanPort.class, "head", long.class);
            TAIL = l.findVarHandle(VxlanPort.class, "tail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The tunnel's own drop reasons, as in {@code port-stats}. */
    public static final String[] DROP_NAMES = {"unresolved", "too_big", "malformed", "inbox_full", "underlay_full"};

    private static final int UNRESOLVED = 0;
    private static final int TOO_BIG = 1;
    private static final int MALFORMED = 2;
    private static final int INBOX_FULL = 3;
    private static final int UNDERLAY_FULL = 4;
    static final int INBOX = 1024;

    final int vni;
    final int remoteIp;
    /** The remote VTEP's MAC, -1 until ARP resolved it (written by the underlay's rx owner). */
    volatile long remoteMac = -1;
    /** When the underlay next sends an ARP request for the remote (the rx owner's). */
    long nextArpNs;

    private final Underlay underlay;
    private final PacketPool pool;
    private final MemorySegment seg;
    private final Runnable onClose;
    private final Counter[] drops = new Counter[DROP_NAMES.length];
    private final int[] inbox = new int[INBOX];
    private volatile long head; // consumer: this port's poller
    private volatile long tail; // producer: the underlay's rx owner of the moment
    private final PacketBurst out = new PacketBurst(PacketBurst.MAX_BURST);
    private final int[] dropped = new int[PacketBurst.MAX_BURST];
    private boolean closed;

    VxlanPort(String name, int vni, int remoteIp, Underlay underlay, Runnable onClose) {
        super(name, "vxlan", 1, 1, underlay.mac);
        this.vni = vni;
        this.remoteIp = remoteIp;
        this.underlay = underlay;
        this.pool = underlay.pool;
        this.seg = pool.segment();
        this.onClose = onClose;
        for (int i = 0; i < drops.length; i++) {
            drops[i] = new Counter();
        }
    }

    /** The tunnel's VNI (the tun_id of what it receives). */
    public int vni() {
        return vni;
    }

    public Underlay underlay() {
        return underlay;
    }

    /** True once ARP has resolved the remote VTEP's MAC. */
    public boolean resolved() {
        return remoteMac >= 0;
    }

    /** Queues a decapsulated frame (the underlay's rx owner only); false (counted) when full. */
    boolean offer(int h) {
        long t = (long) TAIL.getOpaque(this);
        if (t - (long) HEAD.getAcquire(this) == INBOX) {
            drops[INBOX_FULL].add(1);
            return false;
        }
        inbox[(int) t & (INBOX - 1)] = h;
        TAIL.setRelease(this, t + 1);
        return true;
    }

    @Override
    public int rxBurst(int queue, PacketBurst burst) {
        underlay.poll(System.nanoTime());
        long h = (long) HEAD.getOpaque(this);
        int n = (int) Math.min((long) TAIL.getAcquire(this) - h, burst.maxBurst());
        long bytes = 0;
        for (int i = 0; i < n; i++) {
            int p = inbox[(int) (h + i) & (INBOX - 1)];
            burst.handles[i] = p;
            bytes += pool.length(p);
        }
        HEAD.setRelease(this, h + n);
        burst.size = n;
        if (n > 0) {
            rxCounters[0].add(n, bytes);
        }
        return n;
    }

    /**
     * Encapsulates and sends every frame; each one is either sent or freed here with its reason
     * counted, so this always returns {@code n}.
     */
    @Override
    public int txBurst(int queue, PacketBurst burst, int n) {
        long dst = remoteMac;
        int[] hs = burst.handles;
        if (dst < 0) {
            drops[UNRESOLVED].add(n);
            pool.freeBulk(hs, 0, n);
            return n;
        }
        int m = 0;
        int d = 0;
        long bytes = 0;
        for (int k = 0; k < n; k++) {
            int h = hs[k];
            int len = pool.length(h);
            int why = encapsulate(h, len, dst);
            if (why < 0) {
                out.handles[m++] = h;
                bytes += len;
            } else {
                drops[why].add(1);
                dropped[d++] = h;
            }
        }
        if (d > 0) {
            pool.freeBulk(dropped, 0, d);
        }
        if (m > 0) {
            int sent = underlay.transmit(out, m);
            if (sent < m) {
                drops[UNDERLAY_FULL].add(m - sent);
                for (int k = sent; k < m; k++) {
                    bytes -= pool.length(out.handles[k]) - VxlanFrame.OVERHEAD;
                }
                pool.freeBulk(out.handles, sent, m - sent);
            }
            if (sent > 0) {
                txCounters[0].add(sent, bytes);
            }
        }
        return n;
    }

    /** Prepends the outer headers; -1 when done, else the drop reason. */
    private int encapsulate(int h, int len, long dst) {
        if (len < 14) {
            return MALFORMED;
        }
        if (len > VxlanFrame.MAX_INNER) {
            return TOO_BIG;
        }
        long room = pool.dataOffset(h) - pool.bufferOffset(h);
        if (room < VxlanFrame.OVERHEAD) {
            // too little headroom: move the frame back, if the buffer holds it with the headers
            int shift = (int) (VxlanFrame.OVERHEAD - room);
            if (VxlanFrame.OVERHEAD + len > pool.headroom() + pool.dataRoom()) {
                return TOO_BIG;
            }
            long base = pool.dataOffset(h);
            MemorySegment.copy(seg, base, seg, base + shift, len);
            pool.adjust(h, shift);
            pool.setLength(h, len);
        }
        long inner = pool.dataOffset(h);
        int hash = VxlanFrame.flowHash(seg, inner, len);
        pool.adjust(h, -VxlanFrame.OVERHEAD);
        VxlanFrame.writeOuter(
                seg,
                inner - VxlanFrame.OVERHEAD,
                len,
                dst,
                underlay.mac,
                underlay.localIp,
                remoteIp,
                vni,
                VxlanFrame.sourcePort(hash));
        return -1;
    }

    /** Down until ARP has resolved the remote VTEP (nothing can be sent before), then the underlay's. */
    @Override
    public LinkStatus link() {
        return resolved() ? underlay.port.link() : LinkStatus.DOWN;
    }

    /** This tunnel's drop reasons, then its underlay's (prefixed {@code underlay_}). */
    public void addDrops(Map<String, Long> into) {
        for (int i = 0; i < DROP_NAMES.length; i++) {
            into.put(DROP_NAMES[i], drops[i].get());
        }
        underlay.addDrops(into);
    }

    /** {@code resolved} (1 once ARP resolved the remote, else 0) and the underlay's ARP counters. */
    public Map<String, Long> counters() {
        Map<String, Long> m = new java.util.LinkedHashMap<>();
        m.put("resolved", resolved() ? 1L : 0L);
        for (String k : new String[] {"arp_requests", "arp_replies", "arp_answered"}) {
            m.put(k, underlay.counter(k));
        }
        return m;
    }

    public long drops(String reason) {
        for (int i = 0; i < DROP_NAMES.length; i++) {
            if (DROP_NAMES[i].equals(reason)) {
                return drops[i].get();
            }
        }
        throw new IllegalArgumentException(reason);
    }

    /** Frees what the inbox holds (the underlay's rx owner, or the control side while owning it). */
    void drainInbox() {
        long h = head;
        long t = tail;
        for (long i = h; i < t; i++) {
            pool.free(inbox[(int) i & (INBOX - 1)]);
        }
        head = t;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        onClose.run();
    }
}
