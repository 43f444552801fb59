package dev.panda.pmd.vfio;

import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.vfio_device_info;
import dev.panda.jextract.uapi.vfio_irq_info;
import dev.panda.jextract.uapi.vfio_irq_set;
import dev.panda.jextract.uapi.vfio_region_info;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * One PCI function opened through VFIO (kernel Documentation/driver-api/vfio.rst, "VFIO Usage
 * Example"): its group joins the process's {@link VfioContainer}, the device fd gives the config
 * region (pread/pwrite at the region's offset), BARs mmapped through FFM, and MSI-X vectors
 * signalled into eventfds. {@link #close()} undoes all of it in reverse order.
 */
public final class VfioDevice implements AutoCloseable {

    /** What VFIO_DEVICE_GET_REGION_INFO says about one region. */
    public record Region(int index, int flags, long size, long offset) {
        public boolean mappable() {
            return (flags & Uapi.VFIO_REGION_INFO_FLAG_MMAP()) != 0;
        }
    }

    private final PciAddress address;
    private final VfioContainer container;
    private final VfioGroup group;
    private final Fd fd;
    private final int regions;
    private final int irqs;
    private final Region config;
    private final List<MemorySegment> bars = new ArrayList<>();
    private boolean msixOn;

    private VfioDevice(PciAddress address, VfioContainer container, VfioGroup group, Fd fd, int regions, int irqs) {
        this.address = address;
        this.container = container;
        this.group = group;
        this.fd = fd;
        this.regions = regions;
        this.irqs = irqs;
        this.config = region(Uapi.VFIO_PCI_CONFIG_REGION_INDEX());
    }

    /**
     * Opens {@code address}: checks {@link Vfio#unavailabilityCause(PciSysfs, PciAddress)} first, so
     * a device that cannot work fails with the one-line reason and what to do.
     */
    public static VfioDevice open(PciAddress address) {
        PciSysfs sysfs = PciSysfs.system();
        String cause = Vfio.unavailabilityCause(sysfs, address);
        if (cause != null) {
            throw new VfioException(cause);
        }
        int groupNumber = sysfs.iommuGroup(address).orElseThrow();
        VfioContainer container = VfioContainer.acquire();
        VfioGroup group = null;
        Fd fd = null;
        try {
            group = VfioGroup.open(groupNumber);
            container.attach(group);
            fd = group.deviceFd(address);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment info = a.allocate(vfio_device_info.layout());
                vfio_device_info.argsz(info, (int) info.byteSize());
                Posix.ioctl(fd, Uapi.VFIO_DEVICE_GET_INFO(), info);
                if ((vfio_device_info.flags(info) & Uapi.VFIO_DEVICE_FLAGS_PCI()) == 0) {
                    throw new VfioException(address + " is not a PCI device to VFIO");
                }
                return new VfioDevice(
                        address,
                        container,
                        group,
                        fd,
                        vfio_device_info.num_regions(info),
                        vfio_device_info.num_irqs(info));
            }
        } catch (RuntimeException e) {
            if (fd != null) {
                fd.close();
            }
            if (group != null) {
                group.close();
            }
            container.release();
            throw e;
        }
    }

    public PciAddress address() {
        return address;
    }

    public VfioContainer container() {
        return container;
    }

    /** VFIO_DEVICE_GET_REGION_INFO for region {@code index} (BARs 0-5, ROM, config). */
    public Region region(int index) {
        if (index < 0 || index >= regions) {
            throw new VfioException(address + " has " + regions + " regions, no region " + index);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(vfio_region_info.layout());
            vfio_region_info.argsz(r, (int) r.byteSize());
            vfio_region_info.index(r, index);
            Posix.ioctl(fd, Uapi.VFIO_DEVICE_GET_REGION_INFO(), r);
            return new Region(index, vfio_region_info.flags(r), vfio_region_info.size(r), vfio_region_info.offset(r));
        }
    }

    /** {@code len} bytes of config space from {@code offset}. */
    public byte[] readConfig(int offset, int len) {
        checkConfig(offset, len);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(len);
            VfioNative.pread(fd, buf, config.offset() + offset);
            return buf.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    public int readConfig16(int offset) {
        byte[] b = readConfig(offset, 2);
        return (b[0] & 0xff) | (b[1] & 0xff) << 8;
    }

    public void writeConfig16(int offset, int value) {
        checkConfig(offset, 2);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(2);
            buf.set(ValueLayout.JAVA_SHORT_UNALIGNED, 0, (short) value); // config space is little endian
            VfioNative.pwrite(fd, buf, config.offset() + offset);
        }
    }

    private void checkConfig(int offset, int len) {
        if (offset < 0 || len <= 0 || offset + len > config.size()) {
            throw new VfioException("config access " + offset + "+" + len + " outside " + config.size() + " bytes");
        }
    }

    /** Sets Memory Space and Bus Master Enable in the command register (PCI 3.0 §6.2.2): DMA starts off. */
    public void enableBusMaster() {
        int cmd = readConfig16(Uapi.PCI_COMMAND());
        writeConfig16(Uapi.PCI_COMMAND(), cmd | Uapi.PCI_COMMAND_MASTER() | Uapi.PCI_COMMAND_MEMORY());
    }

    /** Clears Bus Master Enable: the device can no longer reach memory. */
    public void disableBusMaster() {
        int cmd = readConfig16(Uapi.PCI_COMMAND());
        writeConfig16(Uapi.PCI_COMMAND(), cmd & ~Uapi.PCI_COMMAND_MASTER());
    }

    /** mmaps BAR {@code bar} read-write through the device fd; unmapped by {@link #close()}. */
    public MemorySegment mapBar(int bar) {
        Region r = region(Uapi.VFIO_PCI_BAR0_REGION_INDEX() + bar);
        if (r.size() == 0) {
            throw new VfioException(address + " BAR" + bar + " is not implemented (size 0)");
        }
        if (!r.mappable()) {
            throw new VfioException(address + " BAR" + bar + " cannot be mmapped (VFIO region flags 0x"
                    + Integer.toHexString(r.flags()) + ")");
        }
        MemorySegment m = Posix.mmap(r.size(), Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_SHARED, fd, r.offset());
        bars.add(m);
        return m;
    }

    /** MSI-X vectors the device has (VFIO_DEVICE_GET_IRQ_INFO), 0 without MSI-X. */
    public int msixVectors() {
        if (Uapi.VFIO_PCI_MSIX_IRQ_INDEX() >= irqs) {
            return 0;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(vfio_irq_info.layout());
            vfio_irq_info.argsz(s, (int) s.byteSize());
            vfio_irq_info.index(s, Uapi.VFIO_PCI_MSIX_IRQ_INDEX());
            Posix.ioctl(fd, Uapi.VFIO_DEVICE_GET_IRQ_INFO(), s);
            return vfio_irq_info.count(s);
        }
    }

    /** Routes MSI-X vectors 0..n-1 into {@code eventfds} (VFIO_DEVICE_SET_IRQS, DATA_EVENTFD | ACTION_TRIGGER). */
    public void enableMsix(Fd[] eventfds) {
        try (Arena a = Arena.ofConfined()) {
            long head = vfio_irq_set.layout().byteSize();
            MemorySegment s = a.allocate(head + 4L * eventfds.length, 8);
            vfio_irq_set.argsz(s, (int) s.byteSize());
            vfio_irq_set.flags(s, Uapi.VFIO_IRQ_SET_DATA_EVENTFD() | Uapi.VFIO_IRQ_SET_ACTION_TRIGGER());
            vfio_irq_set.index(s, Uapi.VFIO_PCI_MSIX_IRQ_INDEX());
            vfio_irq_set.start(s, 0);
            vfio_irq_set.count(s, eventfds.length);
            for (int i = 0; i < eventfds.length; i++) {
                s.set(ValueLayout.JAVA_INT, head + 4L * i, eventfds[i].value());
            }
            Posix.ioctl(fd, Uapi.VFIO_DEVICE_SET_IRQS(), s);
            msixOn = true;
        }
    }

    /** Turns MSI-X off again (DATA_NONE | ACTION_TRIGGER with count 0). */
    public void disableMsix() {
        if (!msixOn) {
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(vfio_irq_set.layout());
            vfio_irq_set.argsz(s, (int) s.byteSize());
            vfio_irq_set.flags(s, Uapi.VFIO_IRQ_SET_DATA_NONE() | Uapi.VFIO_IRQ_SET_ACTION_TRIGGER());
            vfio_irq_set.index(s, Uapi.VFIO_PCI_MSIX_IRQ_INDEX());
            vfio_irq_set.start(s, 0);
            vfio_irq_set.count(s, 0);
            Posix.ioctl(fd, Uapi.VFIO_DEVICE_SET_IRQS(), s);
        }
        msixOn = false;
    }

    @Override
    public void close() {
        try {
            disableMsix();
        } catch (RuntimeException e) {
            // the device fd closing below releases the vectors as well
        }
        for (MemorySegment m : bars) {
            Posix.munmap(m);
        }
        bars.clear();
        fd.close();
        group.close();
        container.release();
    }

    @Override
    public String toString() {
        return "VfioDevice[" + address + ", group " + group.number() + "]";
    }
}
