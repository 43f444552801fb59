package dev.panda.pmd.virtio.ring;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Per-queue counters of what the other side did wrong, by kind. Written by the queue's poller
 * only (opaque stores), read by any thread. The first problem of each kind is logged once with
 * its detail; later ones are only counted, so a hostile peer cannot flood the log.
 */
public final class RingErrors {

    /** What went wrong; the comment names the rule broken. */
    public enum Kind {
        /** §2.7.6: avail {@code idx} is more than Queue Size ahead of what the device consumed. */
        AVAIL_IDX_JUMP("avail idx moved by more than the queue size"),
        /** §2.7.6: an avail ring entry is not a descriptor index. */
        BAD_HEAD("avail ring entry is not a descriptor index"),
        /** §2.7.5: {@code next} is outside the (direct or indirect) table. */
        BAD_NEXT("next index outside the descriptor table"),
        /** §2.7.5.2: a chain visits more descriptors than its table holds, so it loops. */
        LOOP("descriptor chain loops"),
        /** §2.7.5.3.1: a chain longer than Queue Size (counting an indirect table's entries). */
        TOO_LONG("descriptor chain longer than the queue size"),
        /** §2.7.5.2: more than 2^32 bytes in one chain. */
        TOO_MANY_BYTES("descriptor chain longer than 2^32 bytes"),
        /** A buffer or an indirect table not inside one memory region (or addr + len overflows). */
        BAD_ADDRESS("buffer outside guest memory"),
        /** A zero-length buffer: not forbidden, skipped and counted (the chain is still used). */
        ZERO_LENGTH("zero-length buffer skipped"),
        /** §2.7.5.3.1: VIRTQ_DESC_F_INDIRECT inside an indirect table. */
        NESTED_INDIRECT("indirect descriptor inside an indirect table"),
        /** §2.7.5.3: an indirect table that is empty, not a multiple of 16 or over Queue Size entries. */
        BAD_INDIRECT_LENGTH("indirect table length is not a multiple of 16 up to queue size * 16"),
        /** §2.7.5.3.1: VIRTQ_DESC_F_INDIRECT together with VIRTQ_DESC_F_NEXT. */
        INDIRECT_WITH_NEXT("indirect descriptor with the next flag"),
        /** §2.7.4.2: a device-readable buffer after a device-writable one. */
        READ_AFTER_WRITE("device-readable buffer after a device-writable one"),
        /** §2.7.8 (driver side): used {@code idx} more entries ahead than chains in flight. */
        USED_IDX_JUMP("used idx moved past the chains in flight"),
        /** §2.7.8 (driver side): a used entry whose {@code id} is not the head of a chain in flight. */
        BAD_USED_ID("used id is not a chain in flight"),
        /** §2.7.8 (driver side): a used {@code len} larger than the chain's writable bytes (clamped). */
        BAD_USED_LEN("used len larger than the writable buffers");

        private final String what;

        Kind(String what) {
            this.what = what;
        }

        /** One line saying what the peer did. */
        public String what() {
            return what;
        }
    }

    private static final System.Logger LOG = System.getLogger(RingErrors.class.getName());
    private static final VarHandle COUNTS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle SEVERE;

    static {
        try {
            SEVERE = MethodHandles.lookup().findVarHandle(RingErrors.class, "severe", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final Kind[] KINDS = Kind.values();

    private final String queue;
    private final long[] counts = new long[KINDS.length];
    private long severe;
    private final boolean[] logged = new boolean[KINDS.length];

    public RingErrors(String queue) {
        this.queue = queue;
    }

    /** Counts one problem of {@code kind}; {@code detail} (an index, an address) goes to the first log line. */
    void count(Kind kind, long detail) {
        int k = kind.ordinal();
        COUNTS.setOpaque(counts, k, counts[k] + 1);
        if (kind != Kind.ZERO_LENGTH) {
            SEVERE.setOpaque(this, severe + 1);
        }
        if (!logged[k]) {
            logged[k] = true;
            LOG.log(
                    System.Logger.Level.WARNING,
                    "{0}: {1} (0x{2}); further ones are only counted",
                    queue,
                    kind.what(),
                    Long.toHexString(detail));
        }
    }

    /** Problems of {@code kind} so far. */
    public long count(Kind kind) {
        return (long) COUNTS.getOpaque(counts, kind.ordinal());
    }

    /** Problems so far that cost a chain ({@link Kind#ZERO_LENGTH} is tolerated): one read, for per-burst use. */
    public long severe() {
        return (long) SEVERE.getOpaque(this);
    }

    /** All problems so far, tolerated ones ({@link Kind#ZERO_LENGTH}) included. */
    public long total() {
        long t = 0;
        for (int k = 0; k < counts.length; k++) {
            t += (long) COUNTS.getOpaque(counts, k);
        }
        return t;
    }

    /** The queue name the log lines carry. */
    public String queue() {
        return queue;
    }

    /** The non-zero counters, e.g. {@code rxq0 errors {LOOP=2, BAD_ADDRESS=1}}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(queue).append(" errors {");
        String sep = "";
        for (Kind kind : KINDS) {
            long c = count(kind);
            if (c != 0) {
                sb.append(sep).append(kind).append('=').append(c);
                sep = ", ";
            }
        }
        return sb.append('}').toString();
    }
}
