package dev.panda.pmd.virtio.virtiouser;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_ACCESS_PLATFORM;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_VERSION_1;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.PortStats;
import dev.panda.jextract.Fd;
import dev.panda.pmd.virtio.ring.Chain;
import dev.panda.pmd.virtio.ring.DeviceQueue;
import dev.panda.pmd.virtio.ring.DriverQueue;
import dev.panda.pmd.virtio.ring.GuestMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * net_virtio_user against a device that, like a vDPA device behind vhost-vdpa, knows panda's
 * memory only at IOVAs: the transport maps the pool and the rings where {@link
 * VhostVdpaTransport#plan} puts them (not at panda's addresses), and the device reads every ring
 * and descriptor address through that IOVA map alone, looping each transmitted frame back to the
 * receive queue as the kernel's vDPA simulator does. A virtual address anywhere in a ring or a
 * descriptor would not translate: the device would count it and the frame would not come back.
 */
class IovaLoopbackTest {

    /** The loopback device: DeviceQueues over the IOVA map, driven from the test's thread. */
    static final class Loopback implements VhostTransport, GuestMemory {
        long[] iova;
        MemorySegment[] regions;
        final DeviceQueue[] queues = new DeviceQueue[2];
        Chain rx;
        Chain tx;
        final MemorySegment scratch = Arena.ofAuto().allocate(4096);
        long looped;

        @Override
        public String describe() {
            return "IOVA loopback";
        }

        @Override
        public long negotiate(int queuePairs) {
            return bit(F_VERSION_1) | bit(F_ACCESS_PLATFORM);
        }

        @Override
        public long[] map(List<Region> rs) {
            iova = VhostVdpaTransport.plan(rs, 0, -1L);
            regions = new MemorySegment[rs.size()];
            for (int i = 0; i < rs.size(); i++) {
                regions[i] = MemorySegment.ofAddress(rs.get(i).userAddr())
                        .reinterpret(rs.get(i).size());
            }
            return iova.clone();
        }

        @Override
        public void setVring(int index, DriverQueue q, Fd kick, Fd call) {
            queues[index] = DeviceQueue.at(
                    "loop" + index, this, q.size(), q.descAddr(), q.availAddr(), q.usedAddr(), bit(F_VERSION_1), 0);
            if (index == 0) {
                rx = queues[0].newChain();
            } else {
                tx = queues[1].newChain();
            }
        }

        @Override
        public void enable(int index) {}

        @Override
        public void start() {}

        @Override
        public void stop(int vrings) {}

        @Override
        public void close() {}

        /** Moves every transmitted frame (header and all) into a receive buffer. */
        int loop() {
            int n = 0;
            while (queues[0].available() > 0 && queues[1].pop(tx)) {
                long len = tx.copyFromReadable(0, scratch, 0, scratch.byteSize());
                if (!queues[0].pop(rx)) {
                    throw new AssertionError("no receive buffer although one was available");
                }
                long put = rx.copyToWritable(0, scratch, 0, len);
                queues[0].pushUsed(rx.head(), put);
                queues[1].pushUsed(tx.head(), 0);
                n++;
            }
            queues[0].publishUsed();
            queues[1].publishUsed();
            looped += n;
            return n;
        }

        @Override
        public int find(long addr, long len) {
            for (int r = 0; r < iova.length; r++) {
                long off = addr - iova[r];
                long size = regions[r].byteSize();
                if (Long.compareUnsigned(addr, iova[r]) >= 0
                        && Long.compareUnsigned(off, size) < 0
                        && Long.compareUnsigned(len, size - off) <= 0) {
                    return r;
                }
            }
            return -1;
        }

        @Override
        public MemorySegment segment(int region) {
            return regions[region];
        }

        @Override
        public long offset(int region, long addr) {
            return addr - iova[region];
        }
    }

    @Test
    void framesGoOutAndBackThroughAnIovaOnlyDevice() {
        try (PacketPool pool =
                PacketPool.create(PoolConfig.defaults().withCount(1024).withHugepages(PoolConfig.Hugepages.OFF))) {
            Loopback dev = new Loopback();
            VirtioUserPort p = VirtioUserPort.kernel("net_virtio_user9", pool, 9, 256, 0x02_00_00_00_00_09L, dev);
            try {
                long[] iova = p.deviceAddresses();
                long[] user = p.userAddresses();
                assertNotEquals(user[0], iova[0]);
                assertNotEquals(user[1], iova[1]);
                PacketBurst out = new PacketBurst(32);
                PacketBurst in = new PacketBurst(32);
                int total = 2000;
                int sent = 0;
                int got = 0;
                while (got < total) {
                    int want = Math.min(32, total - sent);
                    int n = pool.allocBulk(out.handles, 0, want);
                    for (int i = 0; i < n; i++) {
                        VirtioUserPortTest.fill(pool, out.handles[i], VirtioUserPortTest.len(sent + i), sent + i);
                    }
                    int k = p.txBurst(0, out, n);
                    pool.freeBulk(out.handles, k, n - k);
                    sent += k;
                    dev.loop();
                    int r = p.rxBurst(0, in);
                    for (int i = 0; i < r; i++) {
                        VirtioUserPortTest.check(pool, in.handles[i], VirtioUserPortTest.len(got), got);
                        got++;
                    }
                    pool.freeBulk(in.handles, 0, r);
                    assertTrue(sent - got <= 2 * 256 + 32, "frames lost: sent " + sent + ", back " + got);
                }
                assertEquals(total, dev.looped);
                assertEquals(
                        0,
                        dev.queues[0].errors().total() + dev.queues[1].errors().total(),
                        "device ring errors");
                PortStats st = p.stats();
                assertEquals(total, st.opackets());
                assertEquals(total, st.ipackets());
                assertEquals(0, st.ierrors() + st.oerrors());
                assertTrue(
                        user[0] != iova[0] && dev.find(user[0], 1) == -1,
                        "panda's own address must not reach the device");
            } finally {
                p.close();
            }
            assertEquals(pool.capacity(), pool.available());
        }
    }
}
