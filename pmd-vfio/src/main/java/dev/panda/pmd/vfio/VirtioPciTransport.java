package dev.panda.pmd.vfio;

import dev.panda.jextract.uapi.Uapi;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The virtio-pci modern transport over mapped BAR memory (virtio 1.2 §4.1.4.3 common
 * configuration, §4.1.4.4 notifications, §4.1.4.5 ISR, §4.1.4.6 device configuration). All
 * register accesses are volatile, so none is merged, dropped or reordered by the JIT; the
 * offsets are the kernel's (linux/virtio_pci.h, through the jextract bindings).
 *
 * <p>Set-up only, apart from {@link #notifier}: a queue's notify register handed to its poller.
 */
public final class VirtioPciTransport {

    static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle R8 = U8.varHandle();
    private static final VarHandle R16 = U16.varHandle();
    private static final VarHandle R32 = U32.varHandle();

    static final int DFSELECT = Uapi.VIRTIO_PCI_COMMON_DFSELECT();
    static final int DF = Uapi.VIRTIO_PCI_COMMON_DF();
    static final int GFSELECT = Uapi.VIRTIO_PCI_COMMON_GFSELECT();
    static final int GF = Uapi.VIRTIO_PCI_COMMON_GF();
    static final int MSIX = Uapi.VIRTIO_PCI_COMMON_MSIX();
    static final int NUMQ = Uapi.VIRTIO_PCI_COMMON_NUMQ();
    static final int STATUS = Uapi.VIRTIO_PCI_COMMON_STATUS();
    static final int GENERATION = Uapi.VIRTIO_PCI_COMMON_CFGGENERATION();
    static final int Q_SELECT = Uapi.VIRTIO_PCI_COMMON_Q_SELECT();
    static final int Q_SIZE = Uapi.VIRTIO_PCI_COMMON_Q_SIZE();
    static final int Q_MSIX = Uapi.VIRTIO_PCI_COMMON_Q_MSIX();
    static final int Q_ENABLE = Uapi.VIRTIO_PCI_COMMON_Q_ENABLE();
    static final int Q_NOFF = Uapi.VIRTIO_PCI_COMMON_Q_NOFF();
    static final int Q_DESCLO = Uapi.VIRTIO_PCI_COMMON_Q_DESCLO();
    static final int Q_AVAILLO = Uapi.VIRTIO_PCI_COMMON_Q_AVAILLO();
    static final int Q_USEDLO = Uapi.VIRTIO_PCI_COMMON_Q_USEDLO();

    /** §4.1.5.1.2: no MSI-X vector for this source. */
    public static final int NO_VECTOR = 0xffff;

    static final int S_ACKNOWLEDGE = Uapi.VIRTIO_CONFIG_S_ACKNOWLEDGE();
    static final int S_DRIVER = Uapi.VIRTIO_CONFIG_S_DRIVER();
    static final int S_FEATURES_OK = Uapi.VIRTIO_CONFIG_S_FEATURES_OK();
    static final int S_DRIVER_OK = Uapi.VIRTIO_CONFIG_S_DRIVER_OK();
    static final int S_NEEDS_RESET = Uapi.VIRTIO_CONFIG_S_NEEDS_RESET();
    static final int S_FAILED = Uapi.VIRTIO_CONFIG_S_FAILED();

    private static final long RESET_TIMEOUT_NANOS = 2_000_000_000L;

    private final MemorySegment common;
    private final MemorySegment notify;
    private final MemorySegment isr;
    private final MemorySegment device;
    private final VirtioPciCaps caps;

    /** {@code bars[i]} is BAR i mapped (null where not needed); the capability windows must lie inside. */
    public VirtioPciTransport(VirtioPciCaps caps, MemorySegment[] bars) {
        this.caps = caps;
        this.common = window(bars, caps.commonCfg(), "common");
        this.notify = window(bars, caps.notifyCfg(), "notify");
        this.isr = window(bars, caps.isrCfg(), "ISR");
        this.device = caps.deviceCfg() == null ? MemorySegment.NULL : window(bars, caps.deviceCfg(), "device");
    }

    private static MemorySegment window(MemorySegment[] bars, VirtioPciCaps.Window w, String what) {
        MemorySegment bar = w.bar() < bars.length ? bars[w.bar()] : null;
        if (bar == null || w.offset() + w.length() > bar.byteSize()) {
            throw new VfioException("the virtio " + what + " configuration (" + w.length() + " bytes at 0x"
                    + Long.toHexString(w.offset()) + " in BAR" + w.bar() + ") lies outside the BAR ("
                    + (bar == null ? "not mapped" : bar.byteSize() + " bytes") + ")");
        }
        return bar.asSlice(w.offset(), w.length());
    }

    public VirtioPciCaps caps() {
        return caps;
    }

    int read8(MemorySegment s, long at) {
        return (byte) R8.getVolatile(s, at) & 0xff;
    }

    int read16(MemorySegment s, long at) {
        return (short) R16.getVolatile(s, at) & 0xffff;
    }

    long read32(MemorySegment s, long at) {
        return (int) R32.getVolatile(s, at) & 0xffff_ffffL;
    }

    void write8(MemorySegment s, long at, int v) {
        R8.setVolatile(s, at, (byte) v);
    }

    void write16(MemorySegment s, long at, int v) {
        R16.setVolatile(s, at, (short) v);
    }

    void write32(MemorySegment s, long at, long v) {
        R32.setVolatile(s, at, (int) v);
    }

    /** A 64-bit field as two 32-bit halves, low first (§4.1.3.1: the driver may access it that way). */
    void write64(MemorySegment s, long at, long v) {
        write32(s, at, v & 0xffff_ffffL);
        write32(s, at + 4, v >>> 32);
    }

    public int status() {
        return read8(common, STATUS);
    }

    public void addStatus(int bits) {
        write8(common, STATUS, status() | bits);
    }

    /**
     * Resets the device (§4.1.4.3.2: write 0, then wait until device_status reads 0 again): it
     * stops using its queues and forgets every address it was given.
     */
    public void reset() {
        write8(common, STATUS, 0);
        long deadline = System.nanoTime() + RESET_TIMEOUT_NANOS;
        while (status() != 0) {
            if (System.nanoTime() > deadline) {
                throw new VfioException("device_status still 0x" + Integer.toHexString(status()) + " 2 s after reset");
            }
            Thread.onSpinWait();
        }
    }

    /** The 64 feature bits the device offers (§4.1.4.3: two 32-bit windows). */
    public long deviceFeatures() {
        write32(common, DFSELECT, 0);
        long lo = read32(common, DF);
        write32(common, DFSELECT, 1);
        long hi = read32(common, DF);
        return lo | hi << 32;
    }

    public void driverFeatures(long features) {
        write32(common, GFSELECT, 0);
        write32(common, GF, features & 0xffff_ffffL);
        write32(common, GFSELECT, 1);
        write32(common, GF, features >>> 32);
    }

    public int numQueues() {
        return read16(common, NUMQ);
    }

    /** The largest size of queue {@code q}; 0 if the queue is not available (§4.1.4.3). */
    public int queueMaxSize(int q) {
        write16(common, Q_SELECT, q);
        return read16(common, Q_SIZE);
    }

    /**
     * Sets queue {@code q} up (§4.1.5.1.3): size, the three ring addresses as the device sees them,
     * its MSI-X vector (read back: NO_VECTOR means the device could not take it), and enables it.
     * Returns the queue's notify offset in the notify window.
     */
    public long setUpQueue(int q, int size, long desc, long driver, long deviceArea, int vector) {
        write16(common, Q_SELECT, q);
        write16(common, Q_SIZE, size);
        write64(common, Q_DESCLO, desc);
        write64(common, Q_AVAILLO, driver);
        write64(common, Q_USEDLO, deviceArea);
        write16(common, Q_MSIX, vector);
        if (vector != NO_VECTOR && read16(common, Q_MSIX) != vector) {
            throw new VfioException("queue " + q + " refused MSI-X vector " + vector);
        }
        long off = (long) read16(common, Q_NOFF) * caps.notifyMultiplier();
        if (off + 2 > notify.byteSize()) {
            throw new VfioException("queue " + q + " notify offset 0x" + Long.toHexString(off)
                    + " lies outside the notify window (" + notify.byteSize() + " bytes, §4.1.4.4)");
        }
        write16(common, Q_ENABLE, 1);
        return off;
    }

    public void configVector(int vector) {
        write16(common, MSIX, vector);
        if (vector != NO_VECTOR && read16(common, MSIX) != vector) {
            throw new VfioException("the device refused MSI-X vector " + vector + " for configuration changes");
        }
    }

    /** The 2-byte notify register of a queue at {@code offset} (from {@link #setUpQueue}). */
    public MemorySegment notifier(long offset) {
        return notify.asSlice(offset, 2);
    }

    /** Reads (and so clears, §4.1.4.5) the ISR status. */
    public int readIsr() {
        return read8(isr, 0);
    }

    /** The device-specific configuration (§4.1.4.6), or NULL if the device has none. */
    public MemorySegment deviceConfig() {
        return device;
    }

    /** §4.1.4.3: config_generation, to read device configuration consistently (§2.5.1). */
    public int generation() {
        return read8(common, GENERATION);
    }

    /** Notifies queue {@code q} through its register (§4.1.5.2: the queue index, without NOTIFICATION_DATA). */
    static void kick(MemorySegment notifier, int q) {
        R16.setVolatile(notifier, 0L, (short) q);
    }
}
