package dev.panda.dataplane.ports.nullport;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.AbstractPort;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import java.lang.foreign.MemorySegment;

/**
 * A source and sink: rx hands out fresh buffers of a fixed size (zero-filled when copy=1), tx
 * frees what it is given. Useful to measure the rest of the pipeline, as DPDK's net_null is.
 */
final class NullPort extends AbstractPort {

    private final PacketPool pool;
    private final int size;
    private final boolean fill;
    private final boolean noRx;

    private volatile boolean closed;
    private final MemorySegment zeros;

    NullPort(String name, PacketPool pool, int portId, int queues, int size, boolean fill, boolean noRx) {
        super(name, NullPortDriver.NAME, queues, queues, 0x02_70_6e_00_01_00L | (portId & 0xff));
        this.pool = pool;
        this.size = size;
        this.fill = fill;
        this.noRx = noRx;
        this.zeros = MemorySegment.ofArray(new byte[size]);
    }

    @Override
    public int rxBurst(int queue, PacketBurst burst) {
        if (noRx || closed) {
            burst.size = 0;
            return 0;
        }
        int want = burst.maxBurst();
        int n = pool.allocBulk(burst.handles, 0, want);
        if (n < want) {
            rxCounters[queue].addNombuf(want - n);
        }
        for (int i = 0; i < n; i++) {
            int h = burst.handles[i];
            pool.setLength(h, size);
            if (fill) {
                MemorySegment.copy(zeros, 0, pool.segment(), pool.dataOffset(h), size);
            }
        }
        burst.size = n;
        if (n > 0) {
            rxCounters[queue].add(n, (long) n * size);
        }
        return n;
    }

    @Override
    public int txBurst(int queue, PacketBurst burst, int n) {
        long bytes = 0;
        for (int i = 0; i < n; i++) {
            bytes += pool.length(burst.handles[i]);
        }
        pool.freeBulk(burst.handles, 0, n);
        txCounters[queue].add(n, bytes);
        return n;
    }

    @Override
    public LinkStatus link() {
        return closed ? LinkStatus.DOWN : LinkStatus.VIRTUAL_UP;
    }

    @Override
    public void close() {
        closed = true;
    }
}
