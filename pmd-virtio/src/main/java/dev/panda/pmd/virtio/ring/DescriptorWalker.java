package dev.panda.pmd.virtio.ring;

import static dev.panda.pmd.virtio.ring.SplitRing.DESC_ADDR;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_BYTES;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_F_INDIRECT;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_F_NEXT;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_F_WRITE;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_TAIL;
import static dev.panda.pmd.virtio.ring.SplitRing.DESC_TAIL_OFFSET;

import java.lang.foreign.MemorySegment;

/**
 * Walks one descriptor chain the driver offered, trusting nothing in it (docs/ARCHITECTURE.md,
 * "Untrusted input"). Each descriptor is read once into locals, then checked; the walk visits at
 * most as many descriptors as the table it is in holds (Queue Size for the descriptor table,
 * {@code len / 16} for an indirect one), so it ends even on a loop; every buffer is translated
 * through {@link GuestMemory} and bounds-checked against the region's segment before it becomes
 * a segment of the {@link Chain}.
 *
 * <p>One walker serves one queue, and it remembers the region its last buffer was in: a queue's
 * buffers almost always sit in the same region, so that one is tried first (a per-queue cache in
 * front of the region table), checked exactly as a table hit would be.
 */
final class DescriptorWalker {

    private static final long MAX_CHAIN_BYTES = 1L << 32;

    private final GuestMemory memory;
    private final MemorySegment descTable;
    private final int size;
    private final RingErrors errors;
    /** The region of the previous translation: tried before the region table. */
    private final RegionCache regions;

    DescriptorWalker(GuestMemory memory, MemorySegment descTable, int size, RingErrors errors) {
        this.memory = memory;
        this.descTable = descTable;
        this.size = size;
        this.errors = errors;
        this.regions = new RegionCache(memory);
    }

    /**
     * Describes the chain starting at descriptor {@code head} ({@code < size}) into {@code chain}.
     * Returns false, with the problem counted, if the chain is malformed; the chain's content is
     * then meaningless.
     */
    boolean walk(int head, Chain chain) {
        // The common chain, one direct descriptor (a packet in one buffer, a receive buffer): read
        // and checked here, small enough for the JIT to inline into pop. Anything else is walked
        // from the start again by walkChain, which reads the descriptor afresh.
        long at = head * DESC_BYTES;
        long tail = (long) DESC_TAIL.get(descTable, at + DESC_TAIL_OFFSET);
        long len = tail & 0xFFFF_FFFFL;
        int flags = (int) (tail >>> 32) & 0xFFFF;
        if ((flags & (DESC_F_NEXT | DESC_F_INDIRECT)) != 0 || len == 0) {
            return walkChain(head, chain);
        }
        long addr = (long) DESC_ADDR.get(descTable, at);
        chain.reset(head);
        int r = regions.find(addr, len);
        if (r < 0) {
            return fail(RingErrors.Kind.BAD_ADDRESS, addr);
        }
        chain.add(r, regions.offset(), len, (flags & DESC_F_WRITE) != 0);
        return true;
    }

    /** {@link #walk} for any chain: NEXT links, an indirect table, zero-length buffers. */
    private boolean walkChain(int head, Chain chain) {
        chain.reset(head);
        MemorySegment table = descTable;
        long tableBase = 0;
        int entries = size;
        boolean inIndirect = false;
        boolean sawWritable = false;
        long bytes = 0;
        int i = head;
        int visited = 0;
        while (true) {
            // §2.7.5.2: loops are forbidden; more visits than entries means one (pigeonhole).
            if (++visited > entries) {
                return fail(RingErrors.Kind.LOOP, head);
            }
            long at = tableBase + i * DESC_BYTES;
            // two loads per descriptor: addr, then len | flags | next (each read once, §2.7.5)
            long addr = (long) DESC_ADDR.get(table, at);
            long tail = (long) DESC_TAIL.get(table, at + DESC_TAIL_OFFSET);
            long len = tail & 0xFFFF_FFFFL;
            int flags = (int) (tail >>> 32) & 0xFFFF;
            int next = (int) (tail >>> 48);

            if ((flags & DESC_F_INDIRECT) != 0) {
                // §2.7.5.3.1: one table per descriptor, never nested, never with NEXT.
                if (inIndirect) {
                    return fail(RingErrors.Kind.NESTED_INDIRECT, addr);
                }
                if ((flags & DESC_F_NEXT) != 0) {
                    return fail(RingErrors.Kind.INDIRECT_WITH_NEXT, head);
                }
                // §2.7.5.3: desc[len / 16]; we also bound it by Queue Size entries.
                if (len == 0 || len % DESC_BYTES != 0 || len > size * DESC_BYTES) {
                    return fail(RingErrors.Kind.BAD_INDIRECT_LENGTH, len);
                }
                int r = regions.find(addr, len);
                if (r < 0) {
                    return fail(RingErrors.Kind.BAD_ADDRESS, addr);
                }
                MemorySegment seg = memory.segment(r);
                long off = regions.offset();
                // §2.7.5.3.2: the WRITE flag of this descriptor is ignored; the table starts at 0.
                table = seg;
                tableBase = off;
                entries = (int) (len / DESC_BYTES);
                inIndirect = true;
                visited = 0;
                i = 0;
                continue;
            }

            if (len == 0) {
                errors.count(RingErrors.Kind.ZERO_LENGTH, head);
            } else {
                boolean writable = (flags & DESC_F_WRITE) != 0;
                if (!writable && sawWritable) {
                    return fail(RingErrors.Kind.READ_AFTER_WRITE, head);
                }
                int r = regions.find(addr, len);
                if (r < 0) {
                    return fail(RingErrors.Kind.BAD_ADDRESS, addr);
                }
                long off = regions.offset();
                if (chain.full()) {
                    return fail(RingErrors.Kind.TOO_LONG, head);
                }
                bytes += len;
                if (bytes > MAX_CHAIN_BYTES) {
                    return fail(RingErrors.Kind.TOO_MANY_BYTES, head);
                }
                chain.add(r, off, len, writable);
                sawWritable |= writable;
            }

            if ((flags & DESC_F_NEXT) == 0) {
                return true;
            }
            if (next >= entries) {
                return fail(RingErrors.Kind.BAD_NEXT, next);
            }
            i = next;
        }
    }

    private boolean fail(RingErrors.Kind kind, long detail) {
        errors.count(kind, detail);
        return false;
    }
}
