package dev.panda.pmd.vfio;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_ACCESS_PLATFORM;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_EVENT_IDX;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_INDIRECT_DESC;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MAC;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MRG_RXBUF;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_STATUS;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_VERSION_1;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.has;

/**
 * The feature bits net_virtio_pci negotiates (pmd-virtio's {@code VirtioFeatures} numbers).
 * VIRTIO_F_VERSION_1 and VIRTIO_F_ACCESS_PLATFORM are required: without the first the device
 * speaks the legacy interface; without the second it bypasses the IOMMU (§6.1: it would treat
 * IOVAs as physical addresses and DMA would go astray).
 */
public final class VirtioNetFeatures {

    /** The bits panda takes when offered, in the order {@link #describe} names them. */
    private static final int[] BITS = {
        F_MAC, F_STATUS, F_MRG_RXBUF, F_INDIRECT_DESC, F_EVENT_IDX, F_VERSION_1, F_ACCESS_PLATFORM
    };

    private static final String[] NAMES = {
        "MAC", "STATUS", "MRG_RXBUF", "INDIRECT_DESC", "EVENT_IDX", "VERSION_1", "ACCESS_PLATFORM"
    };

    /**
     * What panda uses if offered: the MAC and link status, mergeable receive buffers, indirect
     * descriptors and VIRTIO_F_EVENT_IDX's notification scheme (the shared driver queue pair's, as
     * net_virtio_user negotiates them); no offloads, no control queue, split rings.
     */
    public static final long WANTED = bit(F_VERSION_1)
            | bit(F_ACCESS_PLATFORM)
            | bit(F_MAC)
            | bit(F_STATUS)
            | bit(F_MRG_RXBUF)
            | bit(F_INDIRECT_DESC)
            | bit(F_EVENT_IDX);

    private VirtioNetFeatures() {}

    /** The subset of {@code offered} panda accepts; throws if a required bit is missing. */
    public static long accept(long offered) {
        if (!has(offered, F_VERSION_1)) {
            throw new VfioException("the device does not offer VIRTIO_F_VERSION_1 (bit 32): a legacy-only "
                    + "device; panda drives modern virtio-pci only (QEMU: disable-legacy=on)");
        }
        if (!has(offered, F_ACCESS_PLATFORM)) {
            throw new VfioException("the device does not offer VIRTIO_F_ACCESS_PLATFORM (bit 33): it would "
                    + "ignore the IOMMU and DMA to IOVAs as physical addresses (QEMU: iommu_platform=on)");
        }
        return offered & WANTED;
    }

    /** Bit names for log lines. */
    public static String describe(long features) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < BITS.length; i++) {
            if (has(features, BITS[i])) {
                b.append(b.isEmpty() ? "" : "|").append(NAMES[i]);
            }
        }
        return b.isEmpty() ? "none" : b.toString();
    }
}
