package dev.panda.pmd.virtio.virtiouser;

import static dev.panda.pmd.virtio.ring.VirtioFeatures.F_VERSION_1;
import static dev.panda.pmd.virtio.ring.VirtioFeatures.bit;

import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.Posix;
import dev.panda.jextract.SockCalls;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.libc.ifreq;
import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.vhost_memory;
import dev.panda.jextract.uapi.vhost_memory_region;
import dev.panda.pmd.virtio.ring.VirtioNetHeader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The kernel's vhost-net ({@code /dev/vhost-net}) as the device, with a TAP as its backend, as
 * DPDK's virtio-user drives it: VHOST_SET_OWNER, GET/SET_FEATURES, VHOST_SET_MEM_TABLE with
 * guest address = user address (the packet pool's memfd and the rings' memfd, panda's own
 * mappings: vhost-net reads them through panda's address space), the vring ioctls, then
 * VHOST_NET_SET_BACKEND with the TAP's fd per vring. The TAP is opened with
 * IFF_TAP|IFF_NO_PI|IFF_VNET_HDR and a 12-byte vnet header, and VHOST_NET_F_VIRTIO_NET_HDR is not
 * taken: the virtio-net header panda writes and reads passes through vhost-net to the TAP.
 * Frames panda sends come out of the TAP's interface in the kernel's stack; frames the kernel
 * sends to that interface land in panda's receive ring.
 */
final class VhostNetTransport extends VhostKernelDevice {

    static final String DEVICE = "/dev/vhost-net";

    private final Fd tap;
    /** The TAP's name as the kernel gave it (set while opening it). */
    private String iface;

    private boolean backendSet;

    /** Opens {@code path} (vhost-net) and the TAP {@code iface} (created unless it exists). */
    VhostNetTransport(String name, String path, String iface) {
        super(name, path, "vhost_net");
        Fd t = null;
        try {
            t = openTap(iface);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        this.tap = t;
    }

    private Fd openTap(String requested) {
        byte[] nameBytes = requested.getBytes(StandardCharsets.US_ASCII);
        if (nameBytes.length == 0 || nameBytes.length >= Libc.IFNAMSIZ()) {
            throw new IllegalArgumentException(
                    name + ": iface=" + requested + " must be 1.." + (Libc.IFNAMSIZ() - 1) + " characters");
        }
        Fd t;
        try {
            t = new Fd(SockCalls.open("/dev/net/tun", Libc.O_RDWR() | Libc.O_NONBLOCK() | Libc.O_CLOEXEC()));
        } catch (NativeException e) {
            throw new IllegalStateException(e.getMessage() + " (needs the tun module and CAP_NET_ADMIN)", e);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = a.allocate(ifreq.layout());
            MemorySegment.copy(nameBytes, 0, ifr, ValueLayout.JAVA_BYTE, 0, nameBytes.length);
            ifr.set(ValueLayout.JAVA_SHORT, 16, (short) (Uapi.IFF_TAP() | Uapi.IFF_NO_PI() | Uapi.IFF_VNET_HDR()));
            tapIoctl(t, "TUNSETIFF(" + requested + ")", Uapi.TUNSETIFF(), ifr);
            tapIoctl(t, "TUNSETVNETHDRSZ", Uapi.TUNSETVNETHDRSZ(), a.allocateFrom(ValueLayout.JAVA_INT, (int)
                    VirtioNetHeader.BYTES));
            try {
                Posix.ioctl(t, Uapi.TUNSETOFFLOAD(), 0L); // no checksum or GSO offload: whole frames
            } catch (NativeException e) {
                throw new NativeException("TUNSETOFFLOAD(0) on " + requested, e.errno());
            }
            iface = ifr.getString(0, StandardCharsets.US_ASCII);
            return t;
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
    }

    private static void tapIoctl(Fd t, String what, long request, MemorySegment arg) {
        try {
            Posix.ioctl(t, request, arg);
        } catch (NativeException e) {
            throw new NativeException(what + " on /dev/net/tun", e.errno());
        }
    }

    /** The TAP interface the frames come out of. */
    String iface() {
        return iface;
    }

    @Override
    public String describe() {
        return "vhost-net on " + path + " with TAP " + iface;
    }

    /** SET_OWNER, then VERSION_1 and MRG_RXBUF, INDIRECT_DESC and EVENT_IDX when offered. */
    @Override
    public long negotiate(int queuePairs) {
        requireOnePair(queuePairs);
        setOwner();
        long offered = requireVersion1(getFeatures());
        long want = bit(F_VERSION_1) | (offered & OPTIONAL);
        setFeatures(want);
        return want;
    }

    /** VHOST_SET_MEM_TABLE, guest address = user address; the device addresses are panda's own. */
    @Override
    public long[] map(List<Region> regions) {
        long[] device = new long[regions.size()];
        long entry = vhost_memory_region.sizeof();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(vhost_memory.sizeof() + regions.size() * entry, 8);
            vhost_memory.nregions(m, regions.size());
            for (int i = 0; i < regions.size(); i++) {
                Region r = regions.get(i);
                MemorySegment e = m.asSlice(vhost_memory.sizeof() + i * entry, entry);
                vhost_memory_region.guest_phys_addr(e, r.userAddr());
                vhost_memory_region.memory_size(e, r.size());
                vhost_memory_region.userspace_addr(e, r.userAddr());
                device[i] = r.userAddr();
            }
            ioctl("VHOST_SET_MEM_TABLE", Uapi.VHOST_SET_MEM_TABLE(), m);
        }
        return device;
    }

    /** VHOST_NET_SET_BACKEND: the TAP becomes vring {@code index}'s socket; vhost-net starts on it. */
    @Override
    public void enable(int index) {
        vringFile("VHOST_NET_SET_BACKEND", Uapi.VHOST_NET_SET_BACKEND(), index, tap.value());
        backendSet = true;
    }

    @Override
    public void start() {}

    /** VHOST_NET_SET_BACKEND with fd -1 (vhost-net stops the vring and flushes), then GET_VRING_BASE. */
    @Override
    public void stop(int n) {
        if (!backendSet) {
            return;
        }
        for (int v = 0; v < n; v++) {
            vringFile("VHOST_NET_SET_BACKEND", Uapi.VHOST_NET_SET_BACKEND(), v, -1);
            getVringBase(v);
        }
        backendSet = false;
    }

    @Override
    public void close() {
        super.close();
        if (tap != null && tap.isOpen()) {
            tap.close(); // a TAP panda created goes away with its last fd
        }
    }
}
