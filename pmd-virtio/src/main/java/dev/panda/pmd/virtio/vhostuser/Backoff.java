package dev.panda.pmd.virtio.vhostuser;

import static java.lang.System.Logger.Level.INFO;
import static java.lang.System.Logger.Level.WARNING;

/**
 * Reconnection pacing for a vhost-user peer that is not there (yet, or any more): the first
 * retry after {@link #FIRST_MILLIS}, then doubling up to {@link #CAP_MILLIS}; never a busy
 * loop. An outage is logged once when it starts and once when it ends, not per attempt.
 * Control thread only.
 */
public final class Backoff {

    public static final long FIRST_MILLIS = 100;
    public static final long CAP_MILLIS = 1600;

    private static final System.Logger LOG = System.getLogger(Backoff.class.getName());

    private final String name;
    private long delay = FIRST_MILLIS;
    private long attempts;
    private long outageStart;

    public Backoff(String name) {
        this.name = name;
    }

    /** An attempt failed: logs the first failure of an outage; returns how long to wait before the next one. */
    public long failed(String why) {
        if (attempts++ == 0) {
            outageStart = System.nanoTime();
            LOG.log(
                    WARNING,
                    "{0}: {1}; retrying every {2,number,#}..{3,number,#} ms until it is back",
                    name,
                    why,
                    FIRST_MILLIS,
                    CAP_MILLIS);
        }
        long d = delay;
        delay = Math.min(CAP_MILLIS, delay * 2);
        return d;
    }

    /**
     * Connected: ends the outage (logged if there was one). The delay goes back to the first
     * only through {@link #stable()}, so a peer that accepts and drops at once is still paced.
     */
    public void succeeded() {
        if (attempts > 0) {
            LOG.log(
                    INFO,
                    "{0}: peer back after {1,number,#} attempt(s), {2,number,#} ms",
                    name,
                    attempts,
                    (System.nanoTime() - outageStart) / 1_000_000);
        }
        attempts = 0;
    }

    /**
     * A connection ended soon after it was made: returns how long to wait before the next one,
     * growing like {@link #failed} but not logged (the disconnect was).
     */
    public long pace() {
        long d = delay;
        delay = Math.min(CAP_MILLIS, delay * 2);
        return d;
    }

    /** The last connection was worth having (it lasted, or got the device running): retry fast again. */
    public void stable() {
        delay = FIRST_MILLIS;
    }

    /** Failed attempts in the current outage (0: none). */
    public long attempts() {
        return attempts;
    }
}
