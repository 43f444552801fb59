package dev.panda.vswitch.flow;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bounded multi-producer, single-consumer ring of PACKET_INs with preallocated slots (a
 * sequence number per slot, as D. Vyukov's bounded queue): data-path threads claim a slot with a
 * compare-and-set, copy the frame's first bytes into the slot's part of one byte array, and
 * publish it; the control side drains. A full ring drops the packet and counts it. Nothing is
 * allocated per packet.
 */
final class PacketInRing {

    static final int SLOTS = 256;
    /** The most bytes of a frame kept per PACKET_IN (the rest is counted in its total length). */
    static final int SLOT_BYTES = 2048;

    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle TAIL;

    static {
        try {
            TAIL = MethodHandles.lookup().findVarHandle(PacketInRing.class, "tail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long[] seq = new long[SLOTS];
    private final int[] inPort = new int[SLOTS];
    private final long[] tunId = new long[SLOTS];
    private final int[] table = new int[SLOTS];
    private final int[] reason = new int[SLOTS];
    private final long[] cookie = new long[SLOTS];
    private final int[] total = new int[SLOTS];
    private final int[] length = new int[SLOTS];
    private final byte[] data = new byte[SLOTS * SLOT_BYTES];
    private final byte[] scratch = new byte[SLOT_BYTES];

    @SuppressWarnings("unused") // through TAIL
    private volatile long tail;

    private long head; // consumer only
    final AtomicLong dropped = new AtomicLong();
    final AtomicLong queued = new AtomicLong();

    PacketInRing() {
        for (int i = 0; i < SLOTS; i++) {
            seq[i] = i;
        }
    }

    /** Queues the frame {@code seg[off..off+len)} cut to {@code maxLen}; false (counted) when full. */
    boolean offer(MemorySegment seg, long off, int len, int maxLen, int port, long tun, int tbl, int why, long ck) {
        long pos = (long) TAIL.getVolatile(this);
        int idx;
        while (true) {
            idx = (int) pos & (SLOTS - 1);
            long s = (long) LONGS.getAcquire(seq, idx);
            long diff = s - pos;
            if (diff == 0) {
                if (TAIL.compareAndSet(this, pos, pos + 1)) {
                    break;
                }
                pos = (long) TAIL.getVolatile(this);
            } else if (diff < 0) {
                dropped.incrementAndGet();
                return false;
            } else {
                pos = (long) TAIL.getVolatile(this);
            }
        }
        int n = Math.min(len, Math.min(maxLen, SLOT_BYTES));
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, off, data, idx * SLOT_BYTES, n);
        inPort[idx] = port;
        tunId[idx] = tun;
        table[idx] = tbl;
        reason[idx] = why;
        cookie[idx] = ck;
        total[idx] = len;
        length[idx] = n;
        LONGS.setRelease(seq, idx, pos + 1);
        queued.incrementAndGet();
        return true;
    }

    /** Hands every queued PACKET_IN to {@code c} (one consumer at a time); returns how many. */
    synchronized int drain(PacketIn.Consumer c) {
        int n = 0;
        while (true) {
            int idx = (int) head & (SLOTS - 1);
            long s = (long) LONGS.getAcquire(seq, idx);
            if (s != head + 1) {
                return n;
            }
            int len = length[idx];
            System.arraycopy(data, idx * SLOT_BYTES, scratch, 0, len);
            int port = inPort[idx];
            long tun = tunId[idx];
            int tbl = table[idx];
            int why = reason[idx];
            long ck = cookie[idx];
            int tot = total[idx];
            LONGS.setRelease(seq, idx, head + SLOTS);
            head++;
            n++;
            c.packetIn(port, tun, tbl, PacketIn.Reason.values()[why], ck, tot, scratch, len);
        }
    }

    /** PACKET_INs waiting (approximate). */
    int pending() {
        return (int) Math.max(0, (long) TAIL.getVolatile(this) - head);
    }
}
