package dev.panda.pmd.virtio.vhost;

import dev.panda.pmd.virtio.ring.Chain;
import dev.panda.pmd.virtio.vhostuser.MemoryTable;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * Dirty-page logging for live migration (QEMU docs/interop/vhost-user.rst, "Migration"): while
 * VHOST_F_LOG_ALL is negotiated and a log is set (SET_LOG_BASE), every guest page the back-end
 * writes (receive buffers and the used ring) gets its bit set in the log, bit {@code gpa / 4096}
 * counted from the start of the log, set atomically because the front-end reads and clears the
 * log concurrently. Chosen when a vring is published: {@link #OFF} does nothing, so a device
 * that is not being migrated pays one empty call.
 */
sealed interface DirtyLog permits DirtyLog.Off, DirtyLog.Bitmap {

    /** VHOST_LOG_PAGE: one log bit covers 4 KiB of guest-physical memory. */
    long PAGE = 0x1000;

    DirtyLog OFF = new Off();

    /** The first {@code bytes} device-writable bytes of {@code c} were written. */
    void written(Chain c, long bytes);

    /** Used ring entries or the used index were written (call after a burst that pushed some). */
    void usedRing();

    /** Pages set beyond the end of the log (the front-end sized it too small); for statistics. */
    long outside();

    /** Not migrating. */
    final class Off implements DirtyLog {
        private Off() {}

        @Override
        public void written(Chain c, long bytes) {}

        @Override
        public void usedRing() {}

        @Override
        public long outside() {
            return 0;
        }
    }

    /**
     * Logging into a mapped log. {@code memory} translates a chain's region index to its
     * guest-physical start; the used ring is logged at the guest address SET_VRING_ADDR gave in
     * {@code log_guest_addr} when it set VHOST_VRING_F_LOG (otherwise not at all). A packed ring
     * (virtio 1.2 §2.8) has no used ring: the device writes its used descriptors over the driver's
     * in the descriptor ring, so with VHOST_VRING_F_LOG that ring's pages ({@code ringGpa},
     * {@code ringBytes}) are logged too, next to the device event area at {@code log_guest_addr}.
     */
    final class Bitmap implements DirtyLog {
        private static final VarHandle WORD = ValueLayout.JAVA_LONG.varHandle();

        private final MemorySegment log;
        private final MemoryTable memory;
        private final long usedGpa;
        private final long usedBytes;
        private final boolean logUsed;
        private final long ringGpa;
        private final long ringBytes;
        private long outside;

        /** {@code ringBytes} of a packed ring's descriptor ring at guest address {@code ringGpa}; 0 bytes: split. */
        Bitmap(
                MemorySegment log,
                MemoryTable memory,
                boolean logUsed,
                long usedGpa,
                long usedBytes,
                long ringGpa,
                long ringBytes) {
            if (log.address() % Long.BYTES != 0 || log.byteSize() % Long.BYTES != 0) {
                throw new IllegalArgumentException("a log of " + log.byteSize() + " bytes at 0x"
                        + Long.toHexString(log.address()) + " is not whole aligned 64-bit words");
            }
            this.log = log;
            this.memory = memory;
            this.logUsed = logUsed;
            this.usedGpa = usedGpa;
            this.usedBytes = usedBytes;
            this.ringGpa = ringGpa;
            this.ringBytes = ringBytes;
        }

        @Override
        public void written(Chain c, long bytes) {
            for (int i = c.readableCount(); i < c.count() && bytes > 0; i++) {
                long len = Math.min(c.length(i), bytes);
                mark(memory.region(c.region(i)).guestPhysAddr() + c.offset(i), len);
                bytes -= len;
            }
        }

        @Override
        public void usedRing() {
            if (logUsed) {
                mark(usedGpa, usedBytes);
                mark(ringGpa, ringBytes); // packed: the used descriptors (nothing when split)
            }
        }

        @Override
        public long outside() {
            return outside;
        }

        /** Sets the bits of every page in {@code [gpa, gpa + len)}. */
        void mark(long gpa, long len) {
            if (len <= 0) {
                return;
            }
            long first = gpa >>> 12; // PAGE
            long last = (gpa + len - 1) >>> 12;
            long limit = log.byteSize() * 8;
            for (long page = first; Long.compareUnsigned(page, last) <= 0; page++) {
                if (Long.compareUnsigned(page, limit) >= 0) {
                    outside++;
                    continue;
                }
                // bit (page % 8) of byte (page / 8): in a little-endian word, bit page % 64
                WORD.getAndBitwiseOr(log, (page >>> 6) << 3, 1L << (page & 63));
            }
        }
    }
}
