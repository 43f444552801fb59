package dev.panda.pmd.virtio.virtiouser;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_ACCESS_PLATFORM;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_MAC;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_VERSION_1;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.has;
import static java.lang.System.Logger.Level.WARNING;

import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.vhost_msg_v2;
import dev.panda.jextract.uapi.vhost_vdpa_config;
import dev.panda.jextract.uapi.vhost_vdpa_iova_range;
import dev.panda.pmd.virtio.ring.DriverQueue;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * A vDPA device through {@code /dev/vhost-vdpa-N} (linux/vhost.h, drivers/vhost/vdpa.c), as DPDK's
 * virtio-user drives one. Opening it: VHOST_SET_OWNER, VHOST_VDPA_GET_DEVICE_ID (a net device,
 * virtio ID 1, or refused), a reset (VHOST_VDPA_SET_STATUS 0), ACKNOWLEDGE and DRIVER, the
 * features (VERSION_1 required; ACCESS_PLATFORM, MAC, MRG_RXBUF, INDIRECT_DESC and EVENT_IDX
 * when offered), the backend features (VHOST_BACKEND_F_IOTLB_MSG_V2 required, IOTLB_BATCH when
 * offered), FEATURES_OK read back, the MAC from the config space (VHOST_VDPA_GET_CONFIG) and the
 * IOVA range. Memory: one VHOST_IOTLB_UPDATE message per region written to the fd, at IOVAs
 * chosen from the device's range that differ from panda's virtual addresses (so a device that
 * ignored the IOTLB would fault rather than work by accident); the memory must be a file mapped
 * MAP_SHARED (panda's memfds: vhost-vdpa accepts an update over anonymous private memory and
 * maps nothing). Then the vring ioctls, VHOST_VDPA_SET_VRING_ENABLE per vring and DRIVER_OK.
 * Stopping resets the device and invalidates every mapping.
 */
final class VhostVdpaTransport extends VhostKernelDevice {

    private static final System.Logger LOG = System.getLogger(VhostVdpaTransport.class.getName());
    /** virtio 1.2 §5: the network device's ID. */
    static final int VIRTIO_ID_NET = 1;
    /** Where the IOVAs start unless the device's range starts higher: far from any user address. */
    static final long IOVA_BASE = 1L << 30;

    static final long IOVA_ALIGN = 2L << 20;

    private final long features;
    private final boolean batch;
    private final long mac;
    private final long iovaFirst;
    private final long iovaLast;
    private final int maxQueueSize;
    private final List<long[]> mapped = new ArrayList<>();
    private int status;

    VhostVdpaTransport(String name, String path) {
        super(name, path, "vhost_vdpa");
        try {
            setOwner();
            int id = getU32("VHOST_VDPA_GET_DEVICE_ID", Uapi.VHOST_VDPA_GET_DEVICE_ID());
            if (id != VIRTIO_ID_NET) {
                throw new IllegalStateException(
                        name + ": " + path + " is virtio device " + id + ", not a network device (1)");
            }
            setStatus(0);
            setStatus(Uapi.VIRTIO_CONFIG_S_ACKNOWLEDGE());
            setStatus(status | Uapi.VIRTIO_CONFIG_S_DRIVER());
            long offered = requireVersion1(getFeatures());
            long want = bit(F_VERSION_1) | (offered & (OPTIONAL | bit(F_ACCESS_PLATFORM) | bit(F_MAC)));
            setFeatures(want);
            long backend = getU64("VHOST_GET_BACKEND_FEATURES", Uapi.VHOST_GET_BACKEND_FEATURES());
            long v2 = 1L << Uapi.VHOST_BACKEND_F_IOTLB_MSG_V2();
            long b = 1L << Uapi.VHOST_BACKEND_F_IOTLB_BATCH();
            if ((backend & v2) == 0) {
                throw new IllegalStateException(name + ": " + path
                        + " does not offer VHOST_BACKEND_F_IOTLB_MSG_V2 (backend features 0x"
                        + Long.toHexString(backend) + ")");
            }
            this.batch = (backend & b) != 0;
            setU64("VHOST_SET_BACKEND_FEATURES", Uapi.VHOST_SET_BACKEND_FEATURES(), v2 | (batch ? b : 0));
            setStatus(status | Uapi.VIRTIO_CONFIG_S_FEATURES_OK());
            int got = getStatus();
            if ((got & Uapi.VIRTIO_CONFIG_S_FEATURES_OK()) == 0) {
                throw new IllegalStateException(name + ": " + path + " refused the features 0x" + Long.toHexString(want)
                        + " (status 0x" + Integer.toHexString(got) + ")");
            }
            this.features = want;
            this.mac = has(want, F_MAC) ? readMac() : -1;
            long[] range = iovaRange();
            this.iovaFirst = range[0];
            this.iovaLast = range[1];
            this.maxQueueSize = getU16("VHOST_VDPA_GET_VRING_NUM", Uapi.VHOST_VDPA_GET_VRING_NUM());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public String describe() {
        return "vhost-vdpa on " + path;
    }

    /** Negotiated when the device was opened (the port needed its MAC); one queue pair. */
    @Override
    public long negotiate(int queuePairs) {
        requireOnePair(queuePairs);
        return features;
    }

    @Override
    public long mac() {
        return mac;
    }

    /** The device's IOVA range, {first, last}. */
    long[] range() {
        return new long[] {iovaFirst, iovaLast};
    }

    /** One IOTLB_UPDATE per region (read-write), inside a batch when the device takes batches. */
    @Override
    public long[] map(List<Region> regions) {
        long[] iova = plan(regions, iovaFirst, iovaLast);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment msg = vhost_msg_v2.allocate(a);
            if (batch) {
                VdpaAbi.iotlbMessage(msg, Uapi.VHOST_IOTLB_BATCH_BEGIN(), 0, 0, 0, 0);
                write("VHOST_IOTLB_BATCH_BEGIN", msg);
            }
            for (int i = 0; i < regions.size(); i++) {
                Region r = regions.get(i);
                VdpaAbi.iotlbMessage(
                        msg, Uapi.VHOST_IOTLB_UPDATE(), iova[i], r.size(), r.userAddr(), Uapi.VHOST_ACCESS_RW());
                write("VHOST_IOTLB_UPDATE(iova 0x" + Long.toHexString(iova[i]) + ", " + r.size() + " bytes)", msg);
                mapped.add(new long[] {iova[i], r.size()});
            }
            if (batch) {
                VdpaAbi.iotlbMessage(msg, Uapi.VHOST_IOTLB_BATCH_END(), 0, 0, 0, 0);
                write("VHOST_IOTLB_BATCH_END", msg);
            }
        }
        return iova;
    }

    /**
     * IOVAs for {@code regions} inside [{@code first}, {@code last}]: from {@link #IOVA_BASE} (or
     * {@code first}, if higher) up, or from {@code first} when the range above IOVA_BASE is too
     * small; each 2 MiB aligned, none equal to its region's user address.
     */
    static long[] plan(List<Region> regions, long first, long last) {
        try {
            return plan(regions, first, last, align(Math.max(first, IOVA_BASE), IOVA_ALIGN));
        } catch (IllegalStateException e) {
            long low = align(first, IOVA_ALIGN);
            if (low == align(Math.max(first, IOVA_BASE), IOVA_ALIGN)) {
                throw e;
            }
            return plan(regions, first, last, low); // a small range (VDUSE's): from its start
        }
    }

    private static long[] plan(List<Region> regions, long first, long last, long start) {
        long cursor = start;
        long[] iova = new long[regions.size()];
        for (int i = 0; i < regions.size(); i++) {
            Region r = regions.get(i);
            long span = align(r.size(), IOVA_ALIGN);
            if (cursor == r.userAddr()) {
                cursor += span; // an IOVA equal to the address would hide a device that ignores the IOTLB
            }
            if (Long.compareUnsigned(cursor, last) > 0 || Long.compareUnsigned(last - cursor, r.size() - 1) < 0) {
                throw new IllegalStateException("the device's IOVA range [0x" + Long.toHexString(first) + ", 0x"
                        + Long.toHexString(last) + "] cannot hold " + r.size() + " bytes at 0x"
                        + Long.toHexString(cursor));
            }
            iova[i] = cursor;
            cursor += span;
        }
        return iova;
    }

    private static long align(long v, long to) {
        return (v + to - 1) & -to;
    }

    @Override
    public void setVring(int index, DriverQueue q, Fd kick, Fd call) {
        if (q.size() > maxQueueSize) {
            throw new IllegalArgumentException(name + ": queue_size " + q.size() + " is more than " + path + " takes ("
                    + maxQueueSize + ", VHOST_VDPA_GET_VRING_NUM)");
        }
        super.setVring(index, q, kick, call);
    }

    /** VHOST_VDPA_SET_VRING_ENABLE. */
    @Override
    public void enable(int index) {
        vringState("VHOST_VDPA_SET_VRING_ENABLE", Uapi.VHOST_VDPA_SET_VRING_ENABLE(), index, 1);
    }

    /** DRIVER_OK, read back: a device that fails it (or needs a reset) refuses the set-up. */
    @Override
    public void start() {
        setStatus(status | Uapi.VIRTIO_CONFIG_S_DRIVER_OK());
        int got = getStatus();
        if ((got & Uapi.VIRTIO_CONFIG_S_DRIVER_OK()) == 0
                || (got & (Uapi.VIRTIO_CONFIG_S_NEEDS_RESET() | Uapi.VIRTIO_CONFIG_S_FAILED())) != 0) {
            throw new IllegalStateException(
                    name + ": " + path + " did not take DRIVER_OK (status 0x" + Integer.toHexString(got) + ")");
        }
    }

    /** A reset (status 0): the device stops every vring; then every mapping is invalidated. */
    @Override
    public void stop(int vrings) {
        setStatus(0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment msg = vhost_msg_v2.allocate(a);
            for (long[] m : mapped) {
                VdpaAbi.iotlbMessage(msg, Uapi.VHOST_IOTLB_INVALIDATE(), m[0], m[1], 0, 0);
                write("VHOST_IOTLB_INVALIDATE(iova 0x" + Long.toHexString(m[0]) + ")", msg);
            }
        } catch (NativeException e) {
            LOG.log(WARNING, "{0}: {1}; closing the device drops the rest", name, e.getMessage());
        }
        mapped.clear();
    }

    private void setStatus(int s) {
        try (Arena a = Arena.ofConfined()) {
            ioctl(
                    "VHOST_VDPA_SET_STATUS(0x" + Integer.toHexString(s) + ")",
                    Uapi.VHOST_VDPA_SET_STATUS(),
                    a.allocateFrom(ValueLayout.JAVA_BYTE, (byte) s));
        }
        status = s;
    }

    private int getStatus() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_BYTE);
            ioctl("VHOST_VDPA_GET_STATUS", Uapi.VHOST_VDPA_GET_STATUS(), v);
            return v.get(ValueLayout.JAVA_BYTE, 0) & 0xff;
        }
    }

    private int getU32(String what, long request) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            ioctl(what, request, v);
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    private int getU16(String what, long request) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_SHORT);
            ioctl(what, request, v);
            return v.get(ValueLayout.JAVA_SHORT, 0) & 0xffff;
        }
    }

    /** VHOST_VDPA_GET_CONFIG of virtio_net_config.mac (offset 0, 6 bytes, §5.1.4). */
    private long readMac() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(vhost_vdpa_config.sizeof() + 8, 8);
            vhost_vdpa_config.off(c, 0);
            vhost_vdpa_config.len(c, 6);
            ioctl("VHOST_VDPA_GET_CONFIG(mac)", Uapi.VHOST_VDPA_GET_CONFIG(), c);
            long m = 0;
            for (int i = 0; i < 6; i++) {
                m = m << 8 | (c.get(ValueLayout.JAVA_BYTE, vhost_vdpa_config.buf$offset() + i) & 0xff);
            }
            return m;
        }
    }

    /** VHOST_VDPA_GET_IOVA_RANGE; a kernel without it (EOPNOTSUPP, ENOTTY) gives the whole space. */
    private long[] iovaRange() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = vhost_vdpa_iova_range.allocate(a);
            ioctl("VHOST_VDPA_GET_IOVA_RANGE", Uapi.VHOST_VDPA_GET_IOVA_RANGE(), r);
            return new long[] {vhost_vdpa_iova_range.first(r), vhost_vdpa_iova_range.last(r)};
        } catch (NativeException e) {
            if (e.errno() == Libc.EOPNOTSUPP() || e.errno() == Libc.ENOTTY()) {
                return new long[] {0, -1L};
            }
            throw e;
        }
    }
}
