package dev.panda.pmd.virtio.virtiouser;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_VERSION_1;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.has;

import dev.panda.jextract.ErrnoCalls;
import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.Posix;
import dev.panda.jextract.SockCalls;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.vhost_vring_addr;
import dev.panda.jextract.uapi.vhost_vring_file;
import dev.panda.jextract.uapi.vhost_vring_state;
import dev.panda.pmd.virtio.ring.DriverQueue;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * What the kernel's vhost devices share (linux/vhost.h): a character device opened read-write,
 * VHOST_SET_OWNER, VHOST_GET/SET_FEATURES and the per-vring ioctls (NUM, BASE, ADDR, KICK,
 * CALL, and GET_VRING_BASE). {@link VhostNetTransport} and {@link VhostVdpaTransport} add the
 * memory and the start and stop each device wants.
 *
 * <p>A failing ioctl throws a {@link NativeException} whose message is one line naming the
 * ioctl, the device and the errno: {@code VHOST_SET_OWNER on /dev/vhost-net failed: EBUSY
 * (Device or resource busy)}.
 */
abstract sealed class VhostKernelDevice implements VhostTransport permits VhostNetTransport, VhostVdpaTransport {

    private static final MethodHandle WRITE = ErrnoCalls.link(Libc.write$address(), Libc.write$descriptor());

    final String name;
    final String path;
    final Fd fd;

    /** Opens {@code path} read-write; a missing node names the module that provides it (IllegalStateException). */
    VhostKernelDevice(String name, String path, String module) {
        this.name = name;
        this.path = path;
        try {
            this.fd = new Fd(SockCalls.open(path, Libc.O_RDWR() | Libc.O_CLOEXEC()));
        } catch (NativeException e) {
            if (e.errno() == Libc.ENOENT()) {
                throw new IllegalStateException(e.getMessage() + " (is the " + module + " module loaded?)", e);
            }
            throw e;
        }
    }

    @Override
    public String describe() {
        return getClass().getSimpleName().replace("Transport", "") + " on " + path;
    }

    /** The ioctl with a pointer argument; an error names {@code what} and the device. */
    final int ioctl(String what, long request, MemorySegment arg) {
        try {
            return Posix.ioctl(fd, request, arg);
        } catch (NativeException e) {
            throw failed(what, e.errno());
        }
    }

    /** The ioctl with no argument (VHOST_SET_OWNER). */
    final void ioctl(String what, long request) {
        try {
            Posix.ioctl(fd, request, 0L);
        } catch (NativeException e) {
            throw failed(what, e.errno());
        }
    }

    final NativeException failed(String what, int errno) {
        return new NativeException(what + " on " + path, errno);
    }

    final long getU64(String what, long request) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_LONG);
            ioctl(what, request, v);
            return v.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    final void setU64(String what, long request, long value) {
        try (Arena a = Arena.ofConfined()) {
            ioctl(what, request, a.allocateFrom(ValueLayout.JAVA_LONG, value));
        }
    }

    final void setOwner() {
        ioctl("VHOST_SET_OWNER", Uapi.VHOST_SET_OWNER());
    }

    final long getFeatures() {
        return getU64("VHOST_GET_FEATURES", Uapi.VHOST_GET_FEATURES());
    }

    final void setFeatures(long features) {
        setU64("VHOST_SET_FEATURES", Uapi.VHOST_SET_FEATURES(), features);
    }

    /** Refuses a device without VERSION_1 (legacy layouts are not supported). */
    final long requireVersion1(long offered) {
        if (!has(offered, F_VERSION_1)) {
            throw new IllegalStateException(name + ": " + path + " does not offer VIRTIO_F_VERSION_1 (features 0x"
                    + Long.toHexString(offered) + "); legacy devices are not supported");
        }
        return offered;
    }

    /** One queue pair: several would need a device (vhost-net fd, vDPA queue pair) per pair. */
    final void requireOnePair(int queuePairs) {
        if (queuePairs != 1) {
            throw new IllegalArgumentException(
                    name + ": " + path + " is driven with one queue pair; queues=" + queuePairs + " is not supported");
        }
    }

    final void vringState(String what, long request, int index, int num) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(vhost_vring_state.layout());
            vhost_vring_state.index(s, index);
            vhost_vring_state.num(s, num);
            ioctl(what + "(" + index + ")", request, s);
        }
    }

    final void vringFile(String what, long request, int index, int fdValue) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(vhost_vring_file.layout());
            vhost_vring_file.index(f, index);
            vhost_vring_file.fd(f, fdValue);
            ioctl(what + "(" + index + ")", request, f);
        }
    }

    /**
     * VHOST_SET_VRING_NUM, _BASE (0), _ADDR (the queue's device addresses), _KICK and _CALL
     * (panda polls, but the device gets an eventfd to signal).
     */
    @Override
    public void setVring(int index, DriverQueue q, Fd kick, Fd call) {
        vringState("VHOST_SET_VRING_NUM", Uapi.VHOST_SET_VRING_NUM(), index, q.size());
        vringState("VHOST_SET_VRING_BASE", Uapi.VHOST_SET_VRING_BASE(), index, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = a.allocate(vhost_vring_addr.layout());
            vhost_vring_addr.index(addr, index);
            vhost_vring_addr.flags(addr, 0);
            vhost_vring_addr.desc_user_addr(addr, q.descAddr());
            vhost_vring_addr.used_user_addr(addr, q.usedAddr());
            vhost_vring_addr.avail_user_addr(addr, q.availAddr());
            vhost_vring_addr.log_guest_addr(addr, 0);
            ioctl("VHOST_SET_VRING_ADDR(" + index + ")", Uapi.VHOST_SET_VRING_ADDR(), addr);
        }
        vringFile("VHOST_SET_VRING_KICK", Uapi.VHOST_SET_VRING_KICK(), index, kick.value());
        vringFile("VHOST_SET_VRING_CALL", Uapi.VHOST_SET_VRING_CALL(), index, call.value());
    }

    /** VHOST_GET_VRING_BASE: the device's next avail index for vring {@code index}. */
    final int getVringBase(int index) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(vhost_vring_state.layout());
            vhost_vring_state.index(s, index);
            ioctl("VHOST_GET_VRING_BASE(" + index + ")", Uapi.VHOST_GET_VRING_BASE(), s);
            return vhost_vring_state.num(s);
        }
    }

    /** write(2) of one whole message to the device (vhost-vdpa's IOTLB messages); a short write is an error. */
    final void write(String what, MemorySegment msg) {
        if (!fd.isOpen()) {
            throw failed(what, Libc.EBADF());
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.state(a);
            while (true) {
                long rc = (long) WRITE.invokeExact(state, fd.value(), msg, msg.byteSize());
                if (rc == msg.byteSize()) {
                    return;
                }
                int errno = rc < 0 ? ErrnoCalls.errno(state) : Libc.EIO();
                if (rc < 0 && errno == Libc.EINTR()) {
                    continue;
                }
                throw failed(what, errno);
            }
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    @Override
    public void close() {
        if (fd.isOpen()) {
            fd.close();
        }
    }
}
