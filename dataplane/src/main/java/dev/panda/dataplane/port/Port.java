package dev.panda.dataplane.port;

/**
 * One network port: the whole driver contract.
 *
 * <p>Calls never block. {@link #rxBurst} and {@link #txBurst} return how many packets moved; the
 * caller owns drop policy for what did not. Each queue is driven by one thread at a time (the
 * queue's poller); {@link #stats()}, {@link #mac()}, {@link #link()} may be called from any thread.
 */
public interface Port extends AutoCloseable {

    /** The device name it was opened with, e.g. {@code net_ring0}. */
    String name();

    /** The driver's name, e.g. {@code net_ring}. */
    String driverName();

    int rxQueueCount();

    int txQueueCount();

    /**
     * Receives up to {@code burst.maxBurst()} packets of queue {@code queue} into
     * {@code burst.handles[0..k)}, sets {@code burst.size = k} and returns k.
     */
    int rxBurst(int queue, PacketBurst burst);

    /**
     * Transmits {@code burst.handles[0..k)} for some {@code k <= n} on queue {@code queue} and returns
     * k. The port now owns those buffers; {@code handles[k..n)} stay with the caller.
     */
    int txBurst(int queue, PacketBurst burst, int n);

    /** Counters since the port was opened; monotonic, so readers diff snapshots. */
    PortStats stats();

    /** The port's MAC address as a 48-bit value. */
    long mac();

    LinkStatus link();

    /** Stops the port and returns every buffer it holds to the pool; idempotent. */
    @Override
    void close();
}
