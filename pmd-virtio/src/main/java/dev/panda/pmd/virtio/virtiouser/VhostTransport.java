package dev.panda.pmd.virtio.virtiouser;

import dev.panda.jextract.Fd;
import dev.panda.pmd.virtio.ring.DriverQueue;
import java.util.List;

/**
 * What {@link VirtioUserPort} needs from the device behind its rings, whichever it is: a
 * vhost-user back-end over a unix socket ({@link VhostUserClient}), the kernel's vhost-net on
 * {@code /dev/vhost-net} with a TAP as its backend ({@link VhostNetTransport}), or a vDPA device
 * on {@code /dev/vhost-vdpa-N} ({@link VhostVdpaTransport}). The port owns the queues and the
 * memory; a transport only tells the device where they are. Control path only, one thread at a
 * time, called in this order: {@link #negotiate}, {@link #map}, {@link #setVring} per vring,
 * {@link #enable} per vring, {@link #start}; then {@link #stop} and {@link #close}.
 */
interface VhostTransport extends AutoCloseable {

    /** virtio 1.2 §6: VIRTIO_F_VERSION_1, required (12-byte headers, little-endian rings). */
    long F_VERSION_1 = 1L << 32;
    /** virtio 1.2 §6: VIRTIO_F_ACCESS_PLATFORM: the device reaches memory through an IOMMU (vDPA's IOTLB). */
    long F_ACCESS_PLATFORM = 1L << 33;
    /** vhost-user: VHOST_USER_F_PROTOCOL_FEATURES (bit 30). */
    long F_PROTOCOL_FEATURES = 1L << 30;
    /** virtio 1.2 §5.1.3: VIRTIO_NET_F_MQ, VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_MAC. */
    long F_NET_MQ = 1L << 22;

    long F_MRG_RXBUF = 1L << 15;
    long F_NET_MAC = 1L << 5;
    /** virtio 1.2 §6: VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX. */
    long F_INDIRECT_DESC = 1L << 28;

    long F_EVENT_IDX = 1L << 29;
    /** The ring and net features panda's driver takes whenever the device offers them. */
    long F_OPTIONAL = F_MRG_RXBUF | F_INDIRECT_DESC | F_EVENT_IDX;

    /**
     * Memory the device must reach: {@code size} bytes of panda's mapping at {@code userAddr},
     * which is {@code fd} (a memfd mapped MAP_SHARED) from offset 0.
     */
    record Region(long userAddr, long size, Fd fd) {}

    /** What the port is driving, for log lines: "vhost-user on /tmp/s.sock", "vhost-net on /dev/vhost-net". */
    String describe();

    /** Negotiates the features (VERSION_1 required) for {@code queuePairs} queue pairs; returns them. */
    long negotiate(int queuePairs);

    /**
     * Makes the regions reachable by the device and returns, per region, the address the device
     * knows its first byte by: what descriptors and ring addresses must carry.
     */
    long[] map(List<Region> regions);

    /** Tells the device about vring {@code index} (driven by {@code q}, from avail index 0) and its eventfds. */
    void setVring(int index, DriverQueue q, Fd kick, Fd call);

    /** Lets the device start on vring {@code index} (after every vring is set). */
    void enable(int index);

    /** The device may run now (vDPA: DRIVER_OK); the port kicks its receive queues next. */
    void start();

    /** Stops every one of the {@code vrings} vrings while the device is still there; the port reclaims next. */
    void stop(int vrings);

    /** The MAC the device holds in its config space, or -1 if it has none to tell. */
    default long mac() {
        return -1;
    }

    /** Releases the device (socket or fd): it drops the rings and mappings. */
    @Override
    void close();
}
