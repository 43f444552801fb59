package dev.panda.pmd.virtio.vduse;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.Posix;
import dev.panda.jextract.SockCalls;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.vduse_dev_config;
import dev.panda.jextract.uapi.vduse_iotlb_entry;
import dev.panda.jextract.uapi.vduse_vq_config;
import dev.panda.jextract.uapi.vduse_vq_eventfd;
import dev.panda.jextract.uapi.vduse_vq_info;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The VDUSE ioctls (linux/vduse.h) on {@code /dev/vduse/control} and {@code /dev/vduse/NAME}, and
 * read/write/poll on the device's request channel. Control path only, except {@link Irq}.
 */
final class Vduse {

    static final Path CONTROL = Path.of("/dev/vduse/control");
    static final int O_RDWR = Libc.O_RDWR();
    static final int O_CLOEXEC = Libc.O_CLOEXEC();
    static final int EEXIST = Libc.EEXIST();
    static final int EINVAL = Libc.EINVAL();

    private static final MethodHandle READ = ErrnoCalls.link(Libc.read$address(), Libc.read$descriptor());
    private static final MethodHandle WRITE = ErrnoCalls.link(Libc.write$address(), Libc.write$descriptor());
    private static final MethodHandle POLL = ErrnoCalls.link(Libc.poll$address(), Libc.poll$descriptor());

    private Vduse() {}

    /** Why VDUSE cannot be used here, or null. */
    static String unavailabilityCause() {
        if (!Files.exists(CONTROL)) {
            return CONTROL + " not found: the kernel needs the vduse module (modprobe vduse; the host kernel"
                    + " here has no vDPA: see pmd-virtio's README, net_vduse)";
        }
        return null;
    }

    static Fd openControl() {
        Fd fd = new Fd(SockCalls.open(CONTROL.toString(), O_RDWR | O_CLOEXEC));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_LONG);
            v.set(ValueLayout.JAVA_LONG, 0, Uapi.VDUSE_API_VERSION());
            Posix.ioctl(fd, Uapi.VDUSE_SET_API_VERSION(), v);
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
        return fd;
    }

    /** VDUSE_CREATE_DEV: a device of {@code vqs} vrings with config space {@code config}. */
    static void create(Fd control, String name, int deviceId, long features, int vqs, byte[] config) {
        try (Arena a = Arena.ofConfined()) {
            long base = vduse_dev_config.layout().byteSize();
            MemorySegment c = a.allocate(base + config.length, 8);
            byte[] n = name.getBytes(StandardCharsets.US_ASCII);
            if (n.length >= Uapi.VDUSE_NAME_MAX()) {
                throw new IllegalArgumentException("VDUSE device name longer than " + (Uapi.VDUSE_NAME_MAX() - 1));
            }
            MemorySegment.copy(n, 0, vduse_dev_config.name(c), ValueLayout.JAVA_BYTE, 0, n.length);
            vduse_dev_config.vendor_id(c, 0);
            vduse_dev_config.device_id(c, deviceId);
            vduse_dev_config.features(c, features);
            vduse_dev_config.vq_num(c, vqs);
            vduse_dev_config.vq_align(c, 4096);
            vduse_dev_config.config_size(c, config.length);
            MemorySegment.copy(config, 0, c, ValueLayout.JAVA_BYTE, base, config.length);
            Posix.ioctl(control, Uapi.VDUSE_CREATE_DEV(), c);
        }
    }

    /** VDUSE_DESTROY_DEV (the device fd must be closed: "no more references to the char device"). */
    static void destroy(Fd control, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(Uapi.VDUSE_NAME_MAX());
            n.setString(0, name, StandardCharsets.US_ASCII);
            Posix.ioctl(control, Uapi.VDUSE_DESTROY_DEV(), n);
        }
    }

    static Fd openDevice(String name) {
        return new Fd(SockCalls.open("/dev/vduse/" + name, O_RDWR | O_CLOEXEC));
    }

    static void vqSetup(Fd dev, int index, int maxSize) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(vduse_vq_config.layout());
            vduse_vq_config.index(c, index);
            vduse_vq_config.max_size(c, (short) maxSize);
            Posix.ioctl(dev, Uapi.VDUSE_VQ_SETUP(), c);
        }
    }

    static void setKickFd(Fd dev, int index, int eventfd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(vduse_vq_eventfd.layout());
            vduse_vq_eventfd.index(c, index);
            vduse_vq_eventfd.fd(c, eventfd);
            Posix.ioctl(dev, Uapi.VDUSE_VQ_SETUP_KICKFD(), c);
        }
    }

    /** VDUSE_DEV_GET_FEATURES: what the driver accepted (valid once FEATURES_OK is set). */
    static long features(Fd dev) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_LONG);
            Posix.ioctl(dev, Uapi.VDUSE_DEV_GET_FEATURES(), v);
            return v.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /** VDUSE_VQ_GET_INFO. */
    record VqInfo(int index, int num, long desc, long driver, long device, int availIndex, boolean ready) {}

    static VqInfo vqInfo(Fd dev, int index) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(vduse_vq_info.layout());
            vduse_vq_info.index(c, index);
            Posix.ioctl(dev, Uapi.VDUSE_VQ_GET_INFO(), c);
            return new VqInfo(
                    index,
                    vduse_vq_info.num(c),
                    vduse_vq_info.desc_addr(c),
                    vduse_vq_info.driver_addr(c),
                    vduse_vq_info.device_addr(c),
                    c.get(ValueLayout.JAVA_SHORT, vduse_vq_info.device_addr$offset() + 8) & 0xFFFF,
                    vduse_vq_info.ready(c) != 0);
        }
    }

    /** One IOTLB entry and the fd it is mapped through (the caller maps and closes it). */
    record IotlbFd(long start, long last, long offset, int perm, Fd fd) {}

    /** VDUSE_IOTLB_GET_FD: the first entry overlapping [start, last], or null (EINVAL: none). */
    static IotlbFd iotlbFd(Fd dev, long start, long last) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = a.allocate(vduse_iotlb_entry.layout());
            vduse_iotlb_entry.start(e, start);
            vduse_iotlb_entry.last(e, last);
            int fd;
            try {
                fd = Posix.ioctl(dev, Uapi.VDUSE_IOTLB_GET_FD(), e);
            } catch (NativeException x) {
                if (x.errno() == EINVAL) {
                    return null;
                }
                throw x;
            }
            return new IotlbFd(
                    vduse_iotlb_entry.start(e),
                    vduse_iotlb_entry.last(e),
                    vduse_iotlb_entry.offset(e),
                    vduse_iotlb_entry.perm(e) & 0xff,
                    new Fd(fd));
        }
    }

    /** VDUSE_DEV_SET_CONFIG: {@code bytes} at {@code offset} of the config space. */
    static void setConfig(Fd dev, int offset, byte[] bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(8 + bytes.length, 4);
            c.set(ValueLayout.JAVA_INT, 0, offset);
            c.set(ValueLayout.JAVA_INT, 4, bytes.length);
            MemorySegment.copy(bytes, 0, c, ValueLayout.JAVA_BYTE, 8, bytes.length);
            Posix.ioctl(dev, Uapi.VDUSE_DEV_SET_CONFIG(), c);
        }
    }

    static void injectConfigIrq(Fd dev) {
        Posix.ioctl(dev, Uapi.VDUSE_DEV_INJECT_CONFIG_IRQ(), 0L);
    }

    /**
     * VDUSE_VQ_INJECT_IRQ for one vring, from its poller: the argument lives in a segment of its
     * own, allocated once; a failure (the device going away) only costs the driver the interrupt.
     * Counts what it injected (the poller writes, the control side reads).
     */
    static final class Irq implements dev.panda.pmd.virtio.vhost.VringSlot.Interrupt {
        private final Fd dev;
        private final MemorySegment index;
        private final long request = Uapi.VDUSE_VQ_INJECT_IRQ();
        private final dev.panda.dataplane.stats.Counter injected = new dev.panda.dataplane.stats.Counter();

        Irq(Fd dev, int vring) {
            this.dev = dev;
            this.index = Arena.ofAuto().allocate(ValueLayout.JAVA_INT);
            index.set(ValueLayout.JAVA_INT, 0, vring);
        }

        @Override
        public void raise() {
            injected.add(1);
            try {
                Posix.ioctl(dev, request, index);
            } catch (NativeException e) {
                // the device is being reset or destroyed: the driver will not wait for this one
            }
        }

        long injected() {
            return injected.get();
        }
    }

    /** poll(2) for POLLIN on {@code fd}: true when readable, false on time-out. */
    static boolean pollIn(Fd fd, int timeoutMillis) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = ErrnoCalls.state(a);
            MemorySegment p = a.allocate(8, 4);
            p.set(ValueLayout.JAVA_INT, 0, fd.value());
            p.set(ValueLayout.JAVA_SHORT, 4, (short) Libc.POLLIN());
            int rc = (int) POLL.invokeExact(st, p, 1L, timeoutMillis);
            if (rc < 0) {
                int errno = ErrnoCalls.errno(st);
                if (errno == Libc.EINTR()) {
                    return false;
                }
                throw new NativeException("poll(" + fd.value() + ")", errno);
            }
            return rc > 0;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    static long read(Fd fd, MemorySegment buf, long n) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = ErrnoCalls.state(a);
            long rc = (long) READ.invokeExact(st, fd.value(), buf, n);
            if (rc < 0) {
                throw new NativeException("read(" + fd.value() + ")", ErrnoCalls.errno(st));
            }
            return rc;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    static long write(Fd fd, MemorySegment buf, long n) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = ErrnoCalls.state(a);
            long rc = (long) WRITE.invokeExact(st, fd.value(), buf, n);
            if (rc < 0) {
                throw new NativeException("write(" + fd.value() + ")", ErrnoCalls.errno(st));
            }
            return rc;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }
}
