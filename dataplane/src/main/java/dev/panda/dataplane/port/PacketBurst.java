package dev.panda.dataplane.port;

/**
 * A reusable array of packet handles, owned by one polling thread and allocated once at set-up.
 *
 * <p>{@code rxBurst} fills {@code handles[0..size)}; {@code txBurst(q, burst, n)} sends from
 * {@code handles[0..n)}. The caller owns every handle a call did not take.
 */
public final class PacketBurst {

    /** Largest burst any port call moves. */
    public static final int MAX_BURST = 512;
    /** The usual burst, as in testpmd. */
    public static final int DEFAULT_BURST = 32;

    public final int[] handles;
    private final int maxBurst;
    public int size;

    public PacketBurst(int maxBurst) {
        if (maxBurst < 1 || maxBurst > MAX_BURST) {
            throw new IllegalArgumentException("burst must be 1.." + MAX_BURST + ", got " + maxBurst);
        }
        this.maxBurst = maxBurst;
        this.handles = new int[maxBurst];
    }

    /** How many packets one rx call may return into this burst. */
    public int maxBurst() {
        return maxBurst;
    }
}
