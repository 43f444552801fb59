package dev.panda.xdp.afxdp;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Both ends of one AF_XDP ring over a plain native segment laid out as the kernel lays out the
 * mmap of a ring (producer, consumer and flags words on their own cache lines, then the
 * entries): {@link #producer} is {@link XskRing} as panda drives a fill or tx ring, and
 * {@link #consumer} is {@code XskRing} as panda drives an rx or completion ring, here standing in
 * for the kernel's side of the same index protocol. No socket is involved.
 */
final class XskRingPair {

    static final long PRODUCER = 0;
    static final long CONSUMER = 64;
    static final long FLAGS = 128;
    static final long DESC = 192;

    final MemorySegment map;
    final XskRing producer;
    final XskRing consumer;

    /**
     * @param start the free-running u32 both indices start at
     * @param stale the byte every entry is filled with first, so a read of an unpublished slot shows
     * @param published entries the producer publishes (addresses 1, 2, ...) before the consumer's
     *     end is created
     */
    XskRingPair(int size, int entryBytes, int start, byte stale, int published) {
        map = Arena.ofAuto().allocate(DESC + (long) size * entryBytes, 64);
        map.asSlice(DESC).fill(stale);
        map.set(ValueLayout.JAVA_INT, PRODUCER, start);
        map.set(ValueLayout.JAVA_INT, CONSUMER, start);
        producer = new XskRing(map, PRODUCER, CONSUMER, FLAGS, DESC, size, entryBytes, true);
        if (published > 0) {
            int n = producer.free(published);
            for (int i = 0; i < n; i++) {
                producer.putAddr(i, i + 1);
            }
            producer.submit(n);
        }
        consumer = new XskRing(map, PRODUCER, CONSUMER, FLAGS, DESC, size, entryBytes, false);
    }
}
