package dev.panda.pmd.virtio.virtiouser;

import dev.panda.jextract.Fd;
import dev.panda.pmd.virtio.ring.DriverQueue;
import dev.panda.pmd.virtio.ring.PackedDriverQueue;
import dev.panda.pmd.virtio.ring.VirtioFeatures;
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

    /**
     * The ring and net features panda's driver takes whenever the device offers them (bit numbers
     * are {@link VirtioFeatures}'; VIRTIO_F_VERSION_1 is required besides).
     */
    long OPTIONAL = VirtioFeatures.bit(VirtioFeatures.F_MRG_RXBUF)
            | VirtioFeatures.bit(VirtioFeatures.F_INDIRECT_DESC)
            | VirtioFeatures.bit(VirtioFeatures.F_EVENT_IDX);

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
     * As {@link #negotiate(int)}, taking of the optional features only those in {@code optional}
     * ({@link #OPTIONAL} with some left out, and {@link VirtioFeatures#F_RING_PACKED} where the
     * transport drives packed rings). The kernel transports take {@link #OPTIONAL} only.
     */
    default long negotiate(int queuePairs, long optional) {
        if (optional != OPTIONAL) {
            throw new IllegalArgumentException(describe() + " negotiates the features 0x" + Long.toHexString(OPTIONAL)
                    + " when offered, not 0x" + Long.toHexString(optional)
                    + " (packed_vq= and mrg_rxbuf= are for vhost-user)");
        }
        return negotiate(queuePairs);
    }

    /**
     * Makes the regions reachable by the device and returns, per region, the address the device
     * knows its first byte by: what descriptors and ring addresses must carry.
     */
    long[] map(List<Region> regions);

    /** Tells the device about vring {@code index} (driven by {@code q}, from avail index 0) and its eventfds. */
    void setVring(int index, DriverQueue q, Fd kick, Fd call);

    /** As {@link #setVring} for a packed ring (VIRTIO_F_RING_PACKED negotiated), from {@code q.base()}. */
    default void setPackedVring(int index, PackedDriverQueue q, Fd kick, Fd call) {
        throw new UnsupportedOperationException(describe() + " does not drive packed rings");
    }

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
