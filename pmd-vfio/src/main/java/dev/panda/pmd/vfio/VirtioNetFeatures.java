package dev.panda.pmd.vfio;

/**
 * The feature bits net_virtio_pci negotiates (virtio 1.2 §6 reserved bits, §5.1.3 network bits).
 * VIRTIO_F_VERSION_1 and VIRTIO_F_ACCESS_PLATFORM are required: without the first the device
 * speaks the legacy interface; without the second it bypasses the IOMMU (§6.1: it would treat
 * IOVAs as physical addresses and DMA would go astray).
 */
public final class VirtioNetFeatures {

    public static final long MAC = 1L << 5;
    public static final long STATUS = 1L << 16;
    public static final long VERSION_1 = 1L << 32;
    public static final long ACCESS_PLATFORM = 1L << 33;
    /** What panda uses if offered: no offloads, no mergeable buffers, no control queue, split rings. */
    public static final long WANTED = VERSION_1 | ACCESS_PLATFORM | MAC | STATUS;

    private VirtioNetFeatures() {}

    /** The subset of {@code offered} panda accepts; throws if a required bit is missing. */
    public static long accept(long offered) {
        if ((offered & VERSION_1) == 0) {
            throw new VfioException("the device does not offer VIRTIO_F_VERSION_1 (bit 32): a legacy-only "
                    + "device; panda drives modern virtio-pci only (QEMU: disable-legacy=on)");
        }
        if ((offered & ACCESS_PLATFORM) == 0) {
            throw new VfioException("the device does not offer VIRTIO_F_ACCESS_PLATFORM (bit 33): it would "
                    + "ignore the IOMMU and DMA to IOVAs as physical addresses (QEMU: iommu_platform=on)");
        }
        return offered & WANTED;
    }

    /** Bit names for log lines. */
    public static String describe(long features) {
        StringBuilder b = new StringBuilder();
        String[] names = {"MAC", "STATUS", "VERSION_1", "ACCESS_PLATFORM"};
        long[] bits = {MAC, STATUS, VERSION_1, ACCESS_PLATFORM};
        for (int i = 0; i < bits.length; i++) {
            if ((features & bits[i]) != 0) {
                b.append(b.isEmpty() ? "" : "|").append(names[i]);
            }
        }
        return b.isEmpty() ? "none" : b.toString();
    }
}
