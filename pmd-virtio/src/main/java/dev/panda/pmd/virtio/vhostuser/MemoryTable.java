package dev.panda.pmd.virtio.vhostuser;

import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.Posix;
import dev.panda.jextract.libc.Libc;
import dev.panda.pmd.virtio.ring.GuestMemory;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemTable;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemoryRegion;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * The front-end's memory as a SET_MEM_TABLE described it (QEMU docs/interop/vhost-user.rst,
 * "Memory access" and "Memory regions description"): each region's fd mapped once,
 * {@code MAP_SHARED}, read-write, from its mmap offset, as a bounds-checked segment of exactly
 * the region's size.
 *
 * <p>Two views of the same segments: {@link #guestPhysical()} (this table itself) translates
 * guest addresses, which descriptors carry; {@link #userAddresses()} translates front-end user
 * addresses, which SET_VRING_ADDR's ring addresses are ("User addresses map to the vhost memory
 * region containing that user address"; without VIRTIO_F_IOMMU_PLATFORM, which panda does not
 * offer here, "Guest addresses map to the vhost memory region containing that guest address").
 * Regions that overlap in either space are refused.
 *
 * <p>The segments belong to a shared arena that {@link #close()} closes before it unmaps, so a
 * segment used after close fails with {@link IllegalStateException} rather than touching an
 * unmapped page. The control path still quiesces every queue before it swaps tables.
 */
public final class MemoryTable implements GuestMemory, AutoCloseable {

    private static final long PAGE_SIZE = Libc.sysconf(Libc._SC_PAGESIZE());
    /**
     * Page sizes a region's file may have: the base page, then x86_64's 2 MiB and 1 GiB huge
     * pages. hugetlbfs wants offsets (and munmap lengths) aligned to its page size and the
     * bindings have no fstat to ask it, so a mapping tries the next size on {@code EINVAL}.
     */
    private static final long[] PAGE_SIZES = {PAGE_SIZE, 2L << 20, 1L << 30};

    private static final int EINVAL = Libc.EINVAL();

    private final List<MemoryRegion> regions;
    private final List<Fd> fds;
    private final MemorySegment[] mappings; // whole mappings, global scope, for munmap
    private final Arena arena;
    private final View guest;
    private final View user;

    private MemoryTable(
            List<MemoryRegion> regions, List<Fd> fds, MemorySegment[] mappings, Arena arena, MemorySegment[] segments) {
        this.regions = regions;
        this.fds = fds;
        this.mappings = mappings;
        this.arena = arena;
        this.guest = new View("guest", regions, MemoryRegion::guestPhysAddr, segments);
        this.user = new View("user", regions, MemoryRegion::userspaceAddr, segments);
    }

    /**
     * Maps every region of {@code message}. The table takes the message's descriptors: on
     * success {@link #close()} closes them; on failure they are closed before this throws.
     *
     * @throws VhostUserException if regions overlap, a region lies beyond the end of its file, a
     *                            descriptor is not a mappable file, or mmap fails
     */
    public static MemoryTable map(MemTable message) throws VhostUserException {
        List<MemoryRegion> regions = message.regions();
        List<Fd> fds = message.fds();
        int n = regions.size();
        MemorySegment[] mappings = new MemorySegment[n];
        Arena arena = Arena.ofShared();
        try {
            for (int i = 0; i < n; i++) {
                String bad = VhostUserCodec.checkRegion(regions.get(i));
                if (bad != null) {
                    throw new VhostUserException("region " + i + ": " + bad);
                }
            }
            checkDisjoint(regions, MemoryRegion::guestPhysAddr, "guest");
            checkDisjoint(regions, MemoryRegion::userspaceAddr, "user");
            MemorySegment[] segments = new MemorySegment[n];
            for (int i = 0; i < n; i++) {
                MemoryRegion r = regions.get(i);
                checkFile(i, fds.get(i), r);
                long base = mapFrom(i, fds.get(i), r, mappings);
                segments[i] = mappings[i]
                        .asSlice(r.mmapOffset() - base, r.memorySize())
                        .reinterpret(arena, null);
            }
            return new MemoryTable(regions, fds, mappings, arena, segments);
        } catch (VhostUserException | RuntimeException e) {
            try {
                arena.close();
                unmapAll(mappings);
            } finally {
                fds.forEach(UnixSocket::closeQuietly);
            }
            throw e;
        }
    }

    /** The guest-physical view: this table. */
    public GuestMemory guestPhysical() {
        return this;
    }

    /** The front-end user address view, for SET_VRING_ADDR's ring addresses. */
    public GuestMemory userAddresses() {
        return user;
    }

    /** How many regions the table has. */
    public int regionCount() {
        return regions.size();
    }

    /** Region {@code i} as the front-end described it. */
    public MemoryRegion region(int i) {
        return regions.get(i);
    }

    @Override
    public int find(long addr, long len) {
        return guest.find(addr, len);
    }

    @Override
    public MemorySegment segment(int region) {
        return guest.segment(region);
    }

    @Override
    public long offset(int region, long addr) {
        return guest.offset(region, addr);
    }

    /**
     * Invalidates the segments, unmaps every region and closes the descriptors. Later calls do
     * nothing.
     *
     * @throws IllegalStateException if a thread is accessing a segment right now (nothing is
     *                               unmapped then: a leak rather than a crash)
     */
    @Override
    public void close() {
        if (!arena.scope().isAlive()) {
            return;
        }
        arena.close();
        try {
            unmapAll(mappings);
        } finally {
            fds.forEach(UnixSocket::closeQuietly);
        }
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("MemoryTable[");
        for (int i = 0; i < regions.size(); i++) {
            MemoryRegion r = regions.get(i);
            s.append(i == 0 ? "" : ", ")
                    .append("gpa 0x")
                    .append(Long.toHexString(r.guestPhysAddr()))
                    .append(" uva 0x")
                    .append(Long.toHexString(r.userspaceAddr()))
                    .append(" size 0x")
                    .append(Long.toHexString(r.memorySize()));
        }
        return s.append(arena.scope().isAlive() ? "]" : ", closed]").toString();
    }

    /** One address space over the table's segments; at most 8 regions, so a linear scan. */
    private static final class View implements GuestMemory {
        private final String name;
        private final long[] starts;
        private final long[] sizes;
        private final MemorySegment[] segments;

        View(String name, List<MemoryRegion> regions, ToLongFunction<MemoryRegion> start, MemorySegment[] segments) {
            this.name = name;
            this.starts = regions.stream().mapToLong(start).toArray();
            this.sizes = regions.stream().mapToLong(MemoryRegion::memorySize).toArray();
            this.segments = segments;
        }

        @Override
        public int find(long addr, long len) {
            for (int i = 0; i < starts.length; i++) {
                long off = addr - starts[i];
                // unsigned: addr >= start, off inside the region, len fits in the rest (no wrap)
                if (Long.compareUnsigned(addr, starts[i]) >= 0
                        && Long.compareUnsigned(off, sizes[i]) < 0
                        && Long.compareUnsigned(len, sizes[i] - off) <= 0) {
                    return i;
                }
            }
            return -1;
        }

        @Override
        public MemorySegment segment(int region) {
            return segments[region];
        }

        @Override
        public long offset(int region, long addr) {
            return addr - starts[region];
        }

        @Override
        public String toString() {
            return "MemoryTable." + name + Arrays.toString(starts);
        }
    }

    private static void checkDisjoint(List<MemoryRegion> regions, ToLongFunction<MemoryRegion> start, String space)
            throws VhostUserException {
        List<MemoryRegion> sorted = new ArrayList<>(regions);
        sorted.sort((a, b) -> Long.compareUnsigned(start.applyAsLong(a), start.applyAsLong(b)));
        for (int i = 1; i < sorted.size(); i++) {
            MemoryRegion prev = sorted.get(i - 1);
            MemoryRegion cur = sorted.get(i);
            long prevLast = start.applyAsLong(prev) + (prev.memorySize() - 1);
            if (Long.compareUnsigned(prevLast, start.applyAsLong(cur)) >= 0) {
                throw new VhostUserException(space + " address ranges overlap: 0x"
                        + Long.toHexString(start.applyAsLong(prev)) + "+0x" + Long.toHexString(prev.memorySize())
                        + " and 0x" + Long.toHexString(start.applyAsLong(cur)) + "+0x"
                        + Long.toHexString(cur.memorySize()));
            }
        }
    }

    /**
     * The fd must be a regular file (memfd, hugetlbfs, shm) at least as long as the region's
     * end: touching a mapped page past the end of a file is SIGBUS, which would end the JVM.
     */
    private static void checkFile(int i, Fd fd, MemoryRegion r) throws VhostUserException {
        checkFile("region " + i, fd, r.mmapOffset() + r.memorySize());
    }

    /**
     * Checks that {@code fd} is a regular file of at least {@code end} bytes, so that mapping it
     * up to there cannot fault (SET_MEM_TABLE regions, the SET_LOG_BASE log).
     *
     * @param what names the mapping in the error message
     */
    public static void checkFile(String what, Fd fd, long end) throws VhostUserException {
        BasicFileAttributes attributes;
        try {
            // stat(2) through the /proc magic link: the bindings have no fstat
            attributes = Files.readAttributes(Path.of("/proc/self/fd/" + fd.value()), BasicFileAttributes.class);
        } catch (IOException e) {
            throw new VhostUserException(what + ": cannot stat fd " + fd.value() + ": " + e, e);
        }
        if (!attributes.isRegularFile()) {
            throw new VhostUserException(what + ": fd " + fd.value() + " is not a regular file");
        }
        if (Long.compareUnsigned(attributes.size(), end) < 0) {
            throw new VhostUserException(what + " ends at file offset " + end + " but fd " + fd.value() + " has "
                    + attributes.size() + " bytes");
        }
    }

    /**
     * mmap(2) needs a page-aligned offset: map from the mmap offset rounded down to the file's
     * page size and return that file offset; the region starts {@code mmapOffset - base} bytes in.
     */
    private static long mapFrom(int i, Fd fd, MemoryRegion r, MemorySegment[] mappings) throws VhostUserException {
        NativeException failure = null;
        long tried = -1;
        for (long page : PAGE_SIZES) {
            long base = r.mmapOffset() & -page;
            if (page < PAGE_SIZE || base == tried) {
                continue; // the same call again would fail the same way
            }
            tried = base;
            try {
                mappings[i] = Posix.mmap(
                        r.mmapOffset() - base + r.memorySize(),
                        Posix.PROT_READ | Posix.PROT_WRITE,
                        Posix.MAP_SHARED,
                        fd,
                        base);
                return base;
            } catch (NativeException e) {
                failure = e;
                if (e.errno() != EINVAL) {
                    break;
                }
            }
        }
        throw new VhostUserException("region " + i + ": " + failure.getMessage(), failure);
    }

    private static void unmapAll(MemorySegment[] mappings) {
        for (int i = 0; i < mappings.length; i++) {
            if (mappings[i] != null) {
                unmap(mappings[i]);
                mappings[i] = null;
            }
        }
    }

    /**
     * munmap(2). On hugetlbfs the kernel rounded the mapping up to the huge page size and refuses
     * ({@code EINVAL}) a length that would split one; retry with the next page size. A length
     * rounded past the mapping is never tried on a mapping of small pages, whose munmap cannot
     * fail that way.
     */
    private static void unmap(MemorySegment mapping) {
        for (int i = 0; i < PAGE_SIZES.length; i++) {
            long page = PAGE_SIZES[i];
            long length = (mapping.byteSize() + page - 1) & -page;
            try {
                Posix.munmap(mapping.reinterpret(length));
                return;
            } catch (NativeException e) {
                if (e.errno() != EINVAL || i == PAGE_SIZES.length - 1) {
                    throw e;
                }
            }
        }
    }
}
