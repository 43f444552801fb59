package dev.panda.pmd.vfio;

import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.vfio_iommu_type1_dma_map;
import dev.panda.jextract.uapi.vfio_iommu_type1_dma_unmap;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A VFIO container ({@code /dev/vfio/vfio}) with the TYPE1v2 IOMMU (kernel
 * Documentation/driver-api/vfio.rst): the address space every group added to it shares. Panda
 * uses one per process, as DPDK does, so a packet pool is DMA-mapped once however many devices
 * use it. Groups are added before the IOMMU type is set (the kernel requires a group first).
 *
 * <p>IOVAs are handed out from {@link #IOVA_BASE} upwards, each mapping 2 MiB aligned, so a pool's
 * IOVA is a stable offset for as long as it is mapped. Every mapping is counted and unmapped when
 * its last user releases it; {@link #mappedBytes()} lets the proof check nothing stays mapped.
 */
public final class VfioContainer implements AutoCloseable {

    /** Below every guest's 39-bit IOMMU address width, above the 32-bit MSI window. */
    public static final long IOVA_BASE = 1L << 32;

    private static final long IOVA_ALIGN = 2L << 20;
    /** linux/vfio.h VFIO_TYPE1v2_IOMMU (the bindings have no constant for it). */
    static final long TYPE1V2_IOMMU = 3;

    private static VfioContainer shared;

    private final Fd fd;
    private final List<VfioGroup> groups = new ArrayList<>();
    private final Map<MemorySegment, Mapping> byMemory = new IdentityHashMap<>();
    private boolean iommuSet;
    private long nextIova = IOVA_BASE;
    private long mappedBytes;
    private int users;

    private record Mapping(long iova, long size, int[] refs) {}

    private VfioContainer(Fd fd) {
        this.fd = fd;
    }

    /** The process's container, opened on first use; pair with {@link #release()}. */
    public static synchronized VfioContainer acquire() {
        if (shared == null) {
            Fd fd = VfioNative.open("/dev/vfio/vfio");
            try {
                int api = Posix.ioctl(fd, Uapi.VFIO_GET_API_VERSION(), 0L);
                if (api != Uapi.VFIO_API_VERSION()) {
                    throw new VfioException("VFIO API version " + api + ", panda speaks " + Uapi.VFIO_API_VERSION());
                }
                if (Posix.ioctl(fd, Uapi.VFIO_CHECK_EXTENSION(), TYPE1V2_IOMMU) == 0) {
                    throw new VfioException("the kernel's VFIO has no TYPE1v2 IOMMU (vfio_iommu_type1 not loaded?)");
                }
            } catch (RuntimeException e) {
                fd.close();
                throw e;
            }
            shared = new VfioContainer(fd);
        }
        shared.users++;
        return shared;
    }

    /** Drops one user; the last one closes the container (every mapping must be gone by then). */
    public void release() {
        synchronized (VfioContainer.class) {
            if (--users == 0) {
                close();
                shared = null;
            }
        }
    }

    Fd fd() {
        return fd;
    }

    /** DMA mappings of the process's container: 0 when no container is open (nothing can be mapped). */
    public static synchronized int liveMappings() {
        return shared == null ? 0 : shared.mappings();
    }

    /** Adds a group (VFIO_GROUP_SET_CONTAINER); the first one also sets the IOMMU type. */
    synchronized void attach(VfioGroup group) {
        group.setContainer(this);
        if (!iommuSet) {
            Posix.ioctl(fd, Uapi.VFIO_SET_IOMMU(), TYPE1V2_IOMMU);
            iommuSet = true;
        }
        groups.add(group);
    }

    synchronized void detach(VfioGroup group) {
        groups.remove(group);
    }

    /**
     * Maps {@code mem} (page aligned) for device reads and writes, or takes one more reference
     * to its existing mapping; returns its IOVA.
     */
    public synchronized long map(MemorySegment mem) {
        Mapping m = byMemory.get(mem);
        if (m != null) {
            m.refs[0]++;
            return m.iova;
        }
        if (!iommuSet) {
            throw new VfioException("no group attached to the container yet: nothing to map for");
        }
        long size = align(mem.byteSize(), 4096);
        long iova = nextIova;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(vfio_iommu_type1_dma_map.layout());
            vfio_iommu_type1_dma_map.argsz(s, (int) s.byteSize());
            vfio_iommu_type1_dma_map.flags(s, Uapi.VFIO_DMA_MAP_FLAG_READ() | Uapi.VFIO_DMA_MAP_FLAG_WRITE());
            vfio_iommu_type1_dma_map.vaddr(s, mem.address());
            vfio_iommu_type1_dma_map.iova(s, iova);
            vfio_iommu_type1_dma_map.size(s, size);
            Posix.ioctl(fd, Uapi.VFIO_IOMMU_MAP_DMA(), s);
        }
        nextIova = align(iova + size, IOVA_ALIGN);
        byMemory.put(mem, new Mapping(iova, size, new int[] {1}));
        mappedBytes += size;
        return iova;
    }

    /** Drops one reference to {@code mem}'s mapping; the last one unmaps it. */
    public synchronized void unmap(MemorySegment mem) {
        Mapping m = byMemory.get(mem);
        if (m == null || --m.refs[0] > 0) {
            return;
        }
        byMemory.remove(mem);
        mappedBytes -= m.size;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(vfio_iommu_type1_dma_unmap.layout());
            vfio_iommu_type1_dma_unmap.argsz(s, (int) s.byteSize());
            vfio_iommu_type1_dma_unmap.iova(s, m.iova);
            vfio_iommu_type1_dma_unmap.size(s, m.size);
            Posix.ioctl(fd, Uapi.VFIO_IOMMU_UNMAP_DMA(), s);
            long done = vfio_iommu_type1_dma_unmap.size(s);
            if (done != m.size) {
                throw new VfioException("VFIO_IOMMU_UNMAP_DMA at 0x" + Long.toHexString(m.iova) + " unmapped " + done
                        + " of " + m.size + " bytes");
            }
        }
    }

    /** Bytes currently DMA-mapped through this container. */
    public synchronized long mappedBytes() {
        return mappedBytes;
    }

    /** The number of live mappings. */
    public synchronized int mappings() {
        return byMemory.size();
    }

    private static long align(long v, long to) {
        return (v + to - 1) / to * to;
    }

    @Override
    public synchronized void close() {
        if (!byMemory.isEmpty()) {
            // unmapping is the kernel's job once the container fd closes; still say so
            System.getLogger(VfioContainer.class.getName())
                    .log(
                            System.Logger.Level.WARNING,
                            "closing the VFIO container with {0} DMA mapping(s) still in place",
                            byMemory.size());
        }
        fd.close();
    }
}
