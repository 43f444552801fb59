package dev.panda.pmd.virtio.vhost;

import static java.lang.System.Logger.Level.ERROR;

/**
 * The vring lifecycle a device back-end's control thread runs, shared by net_vhost's
 * {@link VhostBackend} and net_vduse's VDUSE device: publish a running vring to its poller, take it
 * back ({@link VringSlot#quiesce}) before anything it points into changes, carry the ring errors the
 * poller counted over to the next publication of the same ring, say whether any vring runs (the
 * link), and remember a poller that never left its burst ({@link #stuck()}: memory it may touch must
 * then never be unmapped). Control thread only, except {@link #ready()}.
 */
public final class VringHandOff {

    private static final System.Logger LOG = System.getLogger(VringHandOff.class.getName());

    /** How long a hand-back may wait for the poller to leave a burst. */
    static final long QUIESCE_MILLIS = 2000;

    private final String name;
    private final VringSlot[] slots;
    private final long[] errorsSeen;
    private boolean stuck;
    private volatile boolean ready;

    public VringHandOff(String name, VringSlot[] slots) {
        this.name = name;
        this.slots = slots;
        this.errorsSeen = new long[slots.length];
    }

    /** Takes vring {@code i} back from its poller (nothing to do if it is not running). */
    public void takeBack(int i) {
        VringSlot.Live old = slots[i].current();
        if (old == null) {
            return;
        }
        if (slots[i].quiesce(QUIESCE_MILLIS)) {
            errorsSeen[i] = old.errorsSeen; // the poller has left: its last count is visible now
        } else {
            LOG.log(
                    ERROR,
                    "{0}: the poller of vring {1} did not leave its burst in {2} ms; its memory will not be unmapped",
                    name,
                    i,
                    QUIESCE_MILLIS);
            stuck = true;
        }
        updateReady();
    }

    public void takeBackAll() {
        for (int i = 0; i < slots.length; i++) {
            takeBack(i);
        }
    }

    /** A new queue was built for vring {@code i}: its ring errors start from 0. */
    public void newQueue(int i) {
        errorsSeen[i] = 0;
    }

    /** Hands {@code live} to vring {@code i}'s poller (taken back before), errors counted so far carried over. */
    public void publish(int i, VringSlot.Live live) {
        live.errorsSeen = errorsSeen[i];
        slots[i].publish(live);
        updateReady();
    }

    /** Whether any vring runs. */
    public boolean ready() {
        return ready;
    }

    /** A poller never left a burst: what it may touch must stay mapped. */
    public boolean stuck() {
        return stuck;
    }

    private void updateReady() {
        boolean any = false;
        for (VringSlot s : slots) {
            any |= s.current() != null;
        }
        ready = any;
    }
}
