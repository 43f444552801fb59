package dev.panda.vswitch.vxlan;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.stats.Counter;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Map;

/**
 * One underlay device shared by every tunnel port that names it (opened once, closed with its last
 * tunnel; {@link Underlays} counts the references). It is not a bridge port: the tunnel ports poll
 * it from their own {@code rxBurst}, whichever poller comes first (a compare-and-set makes one
 * thread the owner of the underlay's rx for one pass; the others skip it), and the owner
 * demultiplexes what it received by VNI and remote address into each tunnel's inbox, answers ARP
 * requests for the local address, learns remote VTEPs' MACs from ARP and drops, counting the
 * reason, everything else. Sending (tunnels' frames from any transmitting thread, ARP from the rx
 * owner) goes through a spin lock taken once per burst; the control side never holds either.
 */
public final class Underlay {

    private static final VarHandle RX_OWNER;
    private static final VarHandle TX_LOCK;

    static {
        try {
            var l = MethodHandles.lookup();
            RX_OWNER = l.findVarHandle(Underlay.class, "rxOwner", int.class);
            TX_LOCK = l.findVarHandle(Underlay.class, "txLock", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Counter names: the decoder's drop reasons first (same indices), then the underlay's own. */
    public static final String[] NAMES = {
        "malformed",
        "bad_ip_checksum",
        "fragment",
        "not_vxlan",
        "bad_vxlan",
        "unknown_vni",
        "no_buffer",
        "tx_full",
        "arp_answered",
        "arp_requests",
        "arp_replies"
    };

    static final int UNKNOWN_VNI = 5;
    static final int NO_BUFFER = 6;
    static final int TX_FULL = 7;
    static final int ARP_ANSWERED = 8;
    static final int ARP_REQUESTS = 9;
    static final int ARP_REPLIES = 10;
    /** How many of {@link #NAMES} are drop reasons. */
    static final int DROP_REASONS = 8;

    static final long ARP_RETRY_NS = 1_000_000_000L;
    static final long ARP_REFRESH_NS = 30_000_000_000L;

    final String device;
    final Port port;
    final PacketPool pool;
    final int localIp;
    final long mac;
    /** Open tunnels on this underlay (control side only, under the vswitch's lock). */
    int refs;

    private final MemorySegment seg;
    private final Counter[] counters = new Counter[NAMES.length];
    private volatile VxlanPort[] tunnels = new VxlanPort[0];
    private volatile int rxOwner;
    private volatile int txLock;
    // owned by the rx owner of the moment (handed over by RX_OWNER's acquire/release)
    private final UnderlayDecoder decoder = new UnderlayDecoder();
    private final PacketBurst rx = new PacketBurst(PacketBurst.DEFAULT_BURST);
    private final PacketBurst own = new PacketBurst(PacketBurst.DEFAULT_BURST);
    private final int[] dropped = new int[PacketBurst.DEFAULT_BURST];
    private int droppedCount;
    private long nextTimerNs;

    Underlay(String device, Port port, PacketPool pool, int localIp) {
        this.device = device;
        this.port = port;
        this.pool = pool;
        this.localIp = localIp;
        this.mac = port.mac();
        this.seg = pool.segment();
        for (int i = 0; i < counters.length; i++) {
            counters[i] = new Counter();
        }
    }

    /** The underlay device (for benchmarks and tests that read it raw). */
    public Port port() {
        return port;
    }

    VxlanPort[] tunnels() {
        return tunnels;
    }

    void setTunnels(VxlanPort[] t) {
        tunnels = t;
    }

    /**
     * One pass over the underlay's rx queues, if no other thread is making one: every frame is
     * delivered to its tunnel's inbox, answered or dropped with a reason; then ARP requests for
     * remotes that are due. {@code now} is {@link System#nanoTime()}.
     */
    void poll(long now) {
        if (!RX_OWNER.compareAndSet(this, 0, 1)) {
            return;
        }
        try {
            VxlanPort[] ts = tunnels;
            for (int q = 0; q < port.rxQueueCount(); q++) {
                int n = port.rxBurst(q, rx);
                for (int k = 0; k < n; k++) {
                    dispatch(rx.handles[k], ts);
                }
            }
            if (now - nextTimerNs >= 0) {
                nextTimerNs = now + ARP_RETRY_NS / 10;
                arpTimers(ts, now);
            }
            sendOwn();
            freeDropped();
        } finally {
            RX_OWNER.setRelease(this, 0);
        }
    }

    /** Waits until no thread polls, runs {@code r} as the rx owner (control side: closing a tunnel). */
    void whileOwner(Runnable r) {
        while (!RX_OWNER.compareAndSet(this, 0, 1)) {
            Thread.yield();
        }
        try {
            r.run();
        } finally {
            RX_OWNER.setRelease(this, 0);
        }
    }

    private void dispatch(int h, VxlanPort[] ts) {
        long off = pool.dataOffset(h);
        int r = decoder.decode(seg, off, pool.length(h), localIp);
        switch (r) {
            case UnderlayDecoder.VXLAN -> {
                VxlanPort t = find(ts, decoder.vni, decoder.sourceIp);
                if (t == null) {
                    drop(h, UNKNOWN_VNI);
                    return;
                }
                pool.adjust(h, decoder.innerOffset);
                pool.setLength(h, decoder.innerLength);
                if (!t.offer(h)) {
                    drop(h, -1);
                }
            }
            case UnderlayDecoder.ARP_REQUEST -> {
                learn(ts, decoder.senderIp, decoder.senderMac);
                pool.setLength(h, UnderlayDecoder.answer(seg, off, mac, localIp));
                counters[ARP_ANSWERED].add(1);
                stage(h);
            }
            case UnderlayDecoder.ARP_REPLY -> {
                counters[ARP_REPLIES].add(1);
                learn(ts, decoder.senderIp, decoder.senderMac);
                drop(h, -1);
            }
            default -> drop(h, r);
        }
    }

    private static VxlanPort find(VxlanPort[] ts, int vni, int remoteIp) {
        for (VxlanPort t : ts) {
            if (t.vni == vni && t.remoteIp == remoteIp) {
                return t;
            }
        }
        return null;
    }

    /** {@code ip} is at {@code mac}: every tunnel to that remote sends there from now on. */
    private static void learn(VxlanPort[] ts, int ip, long mac) {
        if ((mac & 0x0100_0000_0000L) != 0 || mac == 0) {
            return; // not a station's address
        }
        for (VxlanPort t : ts) {
            if (t.remoteIp == ip && t.remoteMac != mac) {
                t.remoteMac = mac;
            }
        }
    }

    /**
     * ARP for each remote that is unresolved (every second) or due a refresh (every 30 s). Tunnels
     * to one remote share one request and what is known of its MAC (a tunnel added later takes it
     * from the others at its first timer pass).
     */
    private void arpTimers(VxlanPort[] ts, long now) {
        for (int i = 0; i < ts.length; i++) {
            VxlanPort t = ts[i];
            if (now - t.nextArpNs < 0) {
                continue;
            }
            for (VxlanPort o : ts) {
                if (o != t && o.remoteIp == t.remoteIp && o.remoteMac >= 0 && t.remoteMac < 0) {
                    t.remoteMac = o.remoteMac;
                }
            }
            t.nextArpNs = now + (t.remoteMac < 0 ? ARP_RETRY_NS : ARP_REFRESH_NS);
            for (VxlanPort o : ts) {
                if (o != t && o.remoteIp == t.remoteIp) {
                    if (o.remoteMac < 0 && t.remoteMac >= 0) {
                        o.remoteMac = t.remoteMac;
                    }
                    o.nextArpNs = t.nextArpNs; // one request for them all
                }
            }
            int h = pool.alloc();
            if (h < 0) {
                counters[NO_BUFFER].add(1);
                continue;
            }
            pool.setLength(h, UnderlayDecoder.request(seg, pool.dataOffset(h), mac, localIp, t.remoteIp));
            counters[ARP_REQUESTS].add(1);
            stage(h);
        }
    }

    private void stage(int h) {
        if (own.size == own.handles.length) {
            sendOwn();
        }
        own.handles[own.size++] = h;
    }

    private void sendOwn() {
        int n = own.size;
        if (n == 0) {
            return;
        }
        int sent = transmit(own, n);
        if (sent < n) {
            counters[TX_FULL].add(n - sent);
            pool.freeBulk(own.handles, sent, n - sent);
        }
        own.size = 0;
    }

    /** Frees {@code h}, counting {@code reason} unless it is negative (counted elsewhere or not a drop). */
    private void drop(int h, int reason) {
        if (reason >= 0) {
            counters[reason].add(1);
        }
        if (droppedCount == dropped.length) {
            freeDropped();
        }
        dropped[droppedCount++] = h;
    }

    private void freeDropped() {
        if (droppedCount > 0) {
            pool.freeBulk(dropped, 0, droppedCount);
            droppedCount = 0;
        }
    }

    /** Sends {@code b.handles[0..n)} on tx queue 0 under the tx lock; returns how many went. */
    int transmit(PacketBurst b, int n) {
        while (!TX_LOCK.compareAndSet(this, 0, 1)) {
            Thread.onSpinWait();
        }
        try {
            return port.txBurst(0, b, n);
        } finally {
            TX_LOCK.setRelease(this, 0);
        }
    }

    /** Adds this underlay's drop counters to {@code into}, each name prefixed {@code underlay_}. */
    void addDrops(Map<String, Long> into) {
        for (int i = 0; i < DROP_REASONS; i++) {
            into.put("underlay_" + NAMES[i], counters[i].get());
        }
    }

    public long counter(String name) {
        for (int i = 0; i < NAMES.length; i++) {
            if (NAMES[i].equals(name)) {
                return counters[i].get();
            }
        }
        throw new IllegalArgumentException(name);
    }
}
