package dev.panda.perf.jmh;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;

/** Set-up shared by the benchmarks: one pool, loopback ring ports, and the checks run at tear-down. */
final class BenchSetup {

    /** Buffers in a benchmark pool; 4 KiB pages so a run never competes for hugepages. */
    static final int POOL_COUNT = 8192;

    private BenchSetup() {}

    static PacketPool pool() {
        return PacketPool.create(PoolConfig.defaults().withCount(POOL_COUNT).withHugepages(PoolConfig.Hugepages.OFF));
    }

    /** A loopback {@code net_ring} port: what it sends on queue 0 it receives on queue 0. */
    static Port loopbackRing(String name, PacketPool pool) {
        return Ports.discover().open(name, PortContext.of(pool, 0));
    }

    /** Receives and frees everything queued on {@code port}; returns how many packets that was. */
    static int drain(Port port, PacketPool pool) {
        PacketBurst b = new PacketBurst(PacketBurst.MAX_BURST);
        int total = 0;
        int n;
        while ((n = port.rxBurst(0, b)) > 0) {
            pool.freeBulk(b.handles, 0, n);
            total += n;
        }
        return total;
    }

    /** Fails the trial if the pool lost or double-freed a buffer: the figures would be meaningless. */
    static void checkPool(PacketPool pool, String what) {
        if (pool.available() != pool.capacity() || pool.doubleFrees() != 0) {
            throw new IllegalStateException(what + ": pool not whole after the run: " + pool.available() + "/"
                    + pool.capacity() + " available, " + pool.doubleFrees() + " double frees");
        }
    }
}
