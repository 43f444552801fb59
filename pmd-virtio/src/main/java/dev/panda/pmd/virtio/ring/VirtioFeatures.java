package dev.panda.pmd.virtio.ring;

/**
 * The feature bits panda's virtio devices and drivers speak of, by bit number (virtio 1.2 §6
 * reserved bits, §5.1.3 network bits, and the vhost ones), with one test, {@link #has}: the one
 * vocabulary of the split ring, the virtio-net header, net_vhost, net_virtio_user and
 * net_virtio_pci (as DPDK's {@code virtio.h} and {@code virtio_with_feature}). A set of features is
 * a {@code long} with bit {@code 1L << F_x} for each; {@link #bit} makes one.
 */
public final class VirtioFeatures {

    /** §5.1.3: VIRTIO_NET_F_MAC, the device has a MAC address in its configuration. */
    public static final int F_MAC = 5;
    /** §5.1.3: VIRTIO_NET_F_MRG_RXBUF, a received packet may span several buffers (§5.1.6.4). */
    public static final int F_MRG_RXBUF = 15;
    /** §5.1.3: VIRTIO_NET_F_STATUS, the configuration's status field holds the link state. */
    public static final int F_STATUS = 16;
    /** §5.1.3: VIRTIO_NET_F_MQ, more than one queue pair. */
    public static final int F_MQ = 22;
    /** vhost: VHOST_F_LOG_ALL, the back-end logs the pages it writes (migration). */
    public static final int F_LOG_ALL = 26;
    /** §6: VIRTIO_F_INDIRECT_DESC (VIRTIO_RING_F_INDIRECT_DESC), indirect descriptor tables. */
    public static final int F_INDIRECT_DESC = 28;
    /** §6: VIRTIO_F_EVENT_IDX, {@code used_event} and {@code avail_event} replace the flags. */
    public static final int F_EVENT_IDX = 29;
    /** vhost-user: VHOST_USER_F_PROTOCOL_FEATURES. */
    public static final int F_PROTOCOL_FEATURES = 30;
    /** §6: VIRTIO_F_VERSION_1, the modern interface (12-byte headers, little-endian rings). */
    public static final int F_VERSION_1 = 32;
    /** §6: VIRTIO_F_ACCESS_PLATFORM, the device reaches memory through an IOMMU. */
    public static final int F_ACCESS_PLATFORM = 33;
    /** §6: VIRTIO_F_RING_PACKED, the packed virtqueue layout (§2.8, {@link PackedRing}). */
    public static final int F_RING_PACKED = 34;
    /** §6: VIRTIO_F_IN_ORDER, the device uses buffers in the order the driver made them available. */
    public static final int F_IN_ORDER = 35;

    private VirtioFeatures() {}

    /** Whether feature bit {@code bit} is set in {@code features}. */
    public static boolean has(long features, int bit) {
        return (features & (1L << bit)) != 0;
    }

    /** The set holding only feature {@code bit}. */
    public static long bit(int bit) {
        return 1L << bit;
    }
}
