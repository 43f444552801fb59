package dev.panda.dataplane.mem;

/**
 * A thread whose packet-pool calls go through a cache of its own per pool (DPDK's per-lcore
 * mempool cache): pollers run on these ({@code Lcore}, the vswitch's pipeline stages), so a
 * poller's steady-state alloc and free touch no lock and no line another CPU writes. Any other
 * thread takes the pool's lock, as before.
 *
 * <p>The thread gives its cached buffers back to their pools when its task ends (also when the
 * task throws), so a stopped poller leaves every pool whole; {@link PacketPool#available()} counts
 * cached buffers as available meanwhile.
 */
public final class PoolCacheThread extends Thread {

    /** This thread's caches, one per pool it has used; a handful at most, searched linearly. */
    PacketPool.Cache[] caches = new PacketPool.Cache[0];

    public PoolCacheThread(String name, Runnable task) {
        super(null, task, name);
        setDaemon(true);
    }

    @Override
    public void run() {
        try {
            super.run();
        } finally {
            for (PacketPool.Cache c : caches) {
                c.pool().giveBack(c);
            }
            caches = new PacketPool.Cache[0];
        }
    }
}
