package dev.panda.pmd.virtio.ring;

import static dev.panda.pmd.virtio.ring.RingPair.EVENT_IDX;
import static dev.panda.pmd.virtio.ring.RingPair.INDIRECT;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/**
 * docs/ARCHITECTURE.md, "No allocation per packet": after a warm-up, a million chains (direct and
 * indirect, copied both ways, notification decisions on both sides) allocate nothing on this
 * thread.
 */
class SteadyStateAllocationTest {

    @Test
    void queuesDoNotAllocatePerBuffer() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (RingPair p = new RingPair(256, INDIRECT | EVENT_IDX, 2, 512, 64);
                Arena a = Arena.ofConfined()) {
            Loop loop = new Loop(p, a.allocate(64));
            loop.run(300_000);
            long before = threads.getCurrentThreadAllocatedBytes();
            loop.run(1_000_000);
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertEquals(0, allocated, "bytes allocated for 1M chains");
        }
    }

    private static final class Loop {
        final RingPair p;
        final MemorySegment scratch;
        final Chain chain;
        final long[] addrs = new long[2];
        final int[] lens = {64, 64};
        final int[] tokens = new int[32];
        final int[] used = new int[32];
        long notifications;

        Loop(RingPair p, MemorySegment scratch) {
            this.p = p;
            this.scratch = scratch;
            this.chain = p.device.newChain();
        }

        void run(int chains) {
            int token = 0;
            for (int done = 0; done < chains; ) {
                for (int b = 0; b < 32; b++) {
                    int slot = token++ & 127;
                    addrs[0] = p.addr(2 * slot);
                    addrs[1] = p.addr(2 * slot + 1);
                    if (!((b & 1) == 0
                            ? p.driver.add(addrs, lens, 1, 1, slot)
                            : p.driver.addIndirect(addrs, lens, 1, 1, slot))) {
                        break;
                    }
                }
                notifications += p.driver.publish() ? 1 : 0;
                while (p.device.pop(chain)) {
                    chain.copyFromReadable(0, scratch, 0, 64);
                    p.device.pushUsed(chain.head(), chain.copyToWritable(0, scratch, 0, 64));
                }
                notifications += p.device.publishUsed() ? 1 : 0;
                done += p.driver.harvest(tokens, used, 32);
            }
        }
    }
}
