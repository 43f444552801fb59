package dev.panda.dataplane.filter;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.stats.Counter;

/**
 * One stream's filter: {@link #apply} runs {@link #verdict} on each packet of a received burst,
 * keeps the passed packets in order at the front of the burst, frees the dropped ones in one
 * bulk call, bounces {@link #TX} packets back out the rx port when the stream owns a tx queue
 * there, and counts per verdict. Everything is preallocated here, so a subclass whose
 * {@code verdict} allocates nothing keeps the burst allocation-free. Owned by one polling thread;
 * its counters are {@link Counter}s: written by that thread, read from any thread.
 */
public abstract class RxFilterStream {

    /** Verdicts, numbered as XDP's actions ({@code linux/bpf.h} enum xdp_action). */
    public static final int ABORTED = 0, DROP = 1, PASS = 2, TX = 3;

    protected final PacketPool pool;
    private final Port rxPort;
    private final int txQueue;
    private final int[] freed;
    private final PacketBurst bounce;

    private final Counter passed = new Counter();
    private final Counter dropped = new Counter();
    private final Counter aborted = new Counter();
    private final Counter bounced = new Counter();
    private final Counter txFailed = new Counter();

    /** {@code txQueue} of {@code rxPort} takes XDP_TX packets; -1 drops them (counted as tx-failed). */
    protected RxFilterStream(PacketPool pool, Port rxPort, int txQueue) {
        this.pool = pool;
        this.rxPort = rxPort;
        this.txQueue = txQueue;
        this.freed = new int[PacketBurst.MAX_BURST];
        this.bounce = new PacketBurst(PacketBurst.MAX_BURST);
    }

    /**
     * The verdict for packet {@code handle} ({@link #PASS}, {@link #DROP}, {@link #TX} or
     * {@link #ABORTED}; anything else counts as aborted). It may move the packet's start or
     * change its length through the pool (an XDP program's adjust_head).
     */
    protected abstract int verdict(int handle);

    /**
     * Filters {@code burst.handles[0..n)} in place; returns how many passed, now at
     * {@code handles[0..result)} in their arrival order. Every other packet is freed or sent.
     */
    public final int apply(PacketBurst burst, int n) {
        int[] h = burst.handles;
        int kept = 0, drop = 0, tx = 0, pass = 0, ab = 0, dr = 0;
        for (int i = 0; i < n; i++) {
            int p = h[i];
            int v = verdict(p);
            if (v == PASS) {
                h[kept++] = p;
                pass++;
            } else if (v == TX) {
                bounce.handles[tx++] = p;
            } else {
                freed[drop++] = p;
                if (v == DROP) {
                    dr++;
                } else {
                    ab++;
                }
            }
        }
        if (tx > 0) {
            int sent = txQueue >= 0 ? rxPort.txBurst(txQueue, bounce, tx) : 0;
            bounced.add(sent);
            if (sent < tx) {
                pool.freeBulk(bounce.handles, sent, tx - sent);
                txFailed.add(tx - sent);
            }
        }
        if (drop > 0) {
            pool.freeBulk(freed, 0, drop);
            if (dr > 0) {
                dropped.add(dr);
            }
            if (ab > 0) {
                aborted.add(ab);
            }
        }
        if (pass > 0) {
            passed.add(pass);
        }
        return kept;
    }

    /** Packets the filter let through to the forwarding engine. */
    public long passed() {
        return passed.get();
    }

    /** Packets the filter dropped (XDP_DROP). */
    public long dropped() {
        return dropped.get();
    }

    /** Packets whose run faulted or returned an unknown verdict (XDP_ABORTED), dropped. */
    public long aborted() {
        return aborted.get();
    }

    /** Packets sent back out the rx port (XDP_TX). */
    public long bounced() {
        return bounced.get();
    }

    /** XDP_TX packets the rx port refused, or that this stream could not send, freed. */
    public long txFailed() {
        return txFailed.get();
    }

    /** Everything the filter took out of the stream: dropped, aborted and failed bounces. */
    public long filtered() {
        return dropped() + aborted() + txFailed();
    }
}
