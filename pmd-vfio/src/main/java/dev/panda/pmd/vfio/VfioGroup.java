package dev.panda.pmd.vfio;

import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.vfio_group_status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A VFIO group ({@code /dev/vfio/N}): the unit of isolation the IOMMU gives. It must be viable
 * (every device in it bound to vfio-pci or to no driver) before it can join a container.
 */
final class VfioGroup implements AutoCloseable {

    private final int number;
    private final Fd fd;
    private VfioContainer container;

    private VfioGroup(int number, Fd fd) {
        this.number = number;
        this.fd = fd;
    }

    static VfioGroup open(int number) {
        Fd fd = VfioNative.open("/dev/vfio/" + number);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(vfio_group_status.layout());
            vfio_group_status.argsz(st, (int) st.byteSize());
            Posix.ioctl(fd, Uapi.VFIO_GROUP_GET_STATUS(), st);
            if ((vfio_group_status.flags(st) & Uapi.VFIO_GROUP_FLAGS_VIABLE()) == 0) {
                throw new VfioException("IOMMU group " + number + " is not viable: bind every device in "
                        + "/sys/kernel/iommu_groups/" + number + "/devices to vfio-pci (panda devbind)");
            }
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
        return new VfioGroup(number, fd);
    }

    int number() {
        return number;
    }

    void setContainer(VfioContainer c) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cfd = a.allocateFrom(java.lang.foreign.ValueLayout.JAVA_INT, c.fd().value());
            Posix.ioctl(fd, Uapi.VFIO_GROUP_SET_CONTAINER(), cfd);
        }
        this.container = c;
    }

    /** VFIO_GROUP_GET_DEVICE_FD for the device named {@code address}. */
    Fd deviceFd(PciAddress address) {
        try (Arena a = Arena.ofConfined()) {
            int rc = Posix.ioctl(fd, Uapi.VFIO_GROUP_GET_DEVICE_FD(), a.allocateFrom(address.toString()));
            return new Fd(rc);
        }
    }

    @Override
    public void close() {
        if (container != null) {
            try {
                Posix.ioctl(fd, Uapi.VFIO_GROUP_UNSET_CONTAINER(), 0L);
            } catch (RuntimeException e) {
                // closing the group fd detaches it as well
            }
            container.detach(this);
            container = null;
        }
        fd.close();
    }
}
