package dev.panda.pmd.vfio;

/**
 * The virtio-pci modern capabilities of one function (virtio 1.2 §4.1.4), parsed from its
 * config space. The config space comes from a device and is not trusted: the walk is bounded
 * (at most 48 capabilities, each at a dword-aligned offset in 0x40..0xfc, none visited twice),
 * every field is range-checked, and anything wrong is a {@link Malformed} with a one-line reason.
 *
 * <p>Per §4.1.4 the driver uses the first capability of each type it understands and ignores
 * the rest, including types it does not know and BAR numbers above 5 (reserved).
 */
public record VirtioPciCaps(
        Window commonCfg, Window notifyCfg, int notifyMultiplier, Window isrCfg, Window deviceCfg, int msixTableSize) {

    /** Red Hat, Inc. (virtio 1.2 §4.1.2). */
    public static final int VENDOR = 0x1af4;
    /** Network device: 0x1040 + 1 (virtio 1.2 §4.1.2.1); 0x1000 is the transitional id. */
    public static final int NET_MODERN = 0x1041;

    public static final int NET_TRANSITIONAL = 0x1000;

    static final int COMMON_CFG = 1;
    static final int NOTIFY_CFG = 2;
    static final int ISR_CFG = 3;
    static final int DEVICE_CFG = 4;
    private static final int CAP_VENDOR = 0x09;
    private static final int CAP_MSIX = 0x11;
    private static final int STATUS = 0x06;
    private static final int STATUS_CAP_LIST = 0x10;
    private static final int CAP_POINTER = 0x34;
    private static final int MAX_CAPS = 48;
    /** §4.1.4.3: struct virtio_pci_common_cfg is 64 bytes with queue_notify_data and queue_reset (1.2). */
    static final int COMMON_MIN = 56;

    /** A structure's place: {@code length} bytes at {@code offset} in BAR {@code bar}. */
    public record Window(int bar, long offset, long length) {}

    /** The config space broke a rule; the device is refused. */
    public static final class Malformed extends Exception {
        public Malformed(String message) {
            super(message);
        }
    }

    /** Parses {@code cfg} (at least the 64-byte header; a full function has 256 bytes). */
    public static VirtioPciCaps parse(byte[] cfg) throws Malformed {
        if (cfg.length < 0x40) {
            throw new Malformed("config space of " + cfg.length + " bytes, a PCI header has 64");
        }
        if ((u16(cfg, STATUS) & STATUS_CAP_LIST) == 0) {
            throw new Malformed("no capability list (status bit 4 clear): not a virtio 1.x device");
        }
        Window common = null;
        Window notify = null;
        Window isr = null;
        Window device = null;
        int mult = -1;
        int msix = 0;
        boolean[] seen = new boolean[256];
        int at = u8(cfg, CAP_POINTER) & 0xfc; // PCI 3.0 §6.7: the bottom two bits are reserved
        for (int n = 0; at != 0; n++) {
            if (n == MAX_CAPS) {
                throw new Malformed("more than " + MAX_CAPS + " capabilities: a loop in the list?");
            }
            if (at < 0x40 || at + 2 > cfg.length) {
                throw new Malformed("capability at 0x" + Integer.toHexString(at) + " outside 0x40.." + "0x"
                        + Integer.toHexString(cfg.length - 1));
            }
            if (seen[at]) {
                throw new Malformed("capability list loops back to 0x" + Integer.toHexString(at));
            }
            seen[at] = true;
            int id = u8(cfg, at);
            if (id == CAP_MSIX && at + 4 <= cfg.length && msix == 0) {
                msix = (u16(cfg, at + 2) & 0x7ff) + 1; // PCI 3.0 §6.8.2.3: table size is N - 1
            } else if (id == CAP_VENDOR) {
                int len = u8(cfg, at + 2);
                if (len < 16 || at + len > cfg.length) {
                    throw new Malformed("virtio capability at 0x" + Integer.toHexString(at) + " has cap_len " + len
                            + " (at least 16, within config space)");
                }
                int type = u8(cfg, at + 3);
                int bar = u8(cfg, at + 4);
                long offset = u32(cfg, at + 8);
                long length = u32(cfg, at + 12);
                if (bar <= 5) { // §4.1.4: values 0x6-0xff are reserved, the capability is ignored
                    Window w = new Window(bar, offset, length);
                    switch (type) {
                        case COMMON_CFG -> {
                            if (common == null) {
                                common = check(w, COMMON_MIN, 4, "common"); // §4.1.4.3.1
                            }
                        }
                        case NOTIFY_CFG -> {
                            if (notify == null) {
                                if (len < 20) {
                                    throw new Malformed("notify capability of " + len + " bytes, needs 20 (§4.1.4.4)");
                                }
                                notify = check(w, 2, 2, "notify"); // §4.1.4.4.1
                                mult = (int) Math.min(u32(cfg, at + 16), Integer.MAX_VALUE);
                            }
                        }
                        case ISR_CFG -> {
                            if (isr == null) {
                                isr = check(w, 1, 1, "ISR");
                            }
                        }
                        case DEVICE_CFG -> {
                            if (device == null) {
                                device = check(w, 0, 4, "device"); // §4.1.4.6.1
                            }
                        }
                        default -> {
                            // PCI config access, shared memory, vendor data: not used here
                        }
                    }
                }
            }
            at = u8(cfg, at + 1) & 0xfc;
        }
        if (common == null || notify == null) {
            throw new Malformed("no virtio " + (common == null ? "common" : "notify")
                    + " configuration capability: not a virtio 1.x (modern) device (use disable-legacy=on in QEMU)");
        }
        if (isr == null) {
            throw new Malformed("no virtio ISR capability (§4.1.4.5 requires one)");
        }
        // §4.1.4.4: the multiplier is 0 (all queues share one address) or an even number
        if ((mult & 1) != 0) {
            throw new Malformed("notify_off_multiplier " + mult + " is odd (§4.1.4.4: 0 or a multiple of 2)");
        }
        return new VirtioPciCaps(common, notify, mult, isr, device, msix);
    }

    private static Window check(Window w, long min, int align, String what) throws Malformed {
        if (w.offset() % align != 0) {
            throw new Malformed(what + " configuration at offset 0x" + Long.toHexString(w.offset()) + " of BAR"
                    + w.bar() + " is not " + align + "-byte aligned");
        }
        if (w.length() < min) {
            throw new Malformed(
                    what + " configuration of " + w.length() + " bytes in BAR" + w.bar() + ", needs at least " + min);
        }
        if (w.offset() + w.length() > 0xffff_ffffL) {
            throw new Malformed(what + " configuration runs past 4 GiB of BAR" + w.bar());
        }
        return w;
    }

    /** The notify address of a queue as an offset in the notify BAR (§4.1.4.4). */
    public long notifyOffset(int queueNotifyOff) {
        return notifyCfg.offset() + (long) queueNotifyOff * notifyMultiplier;
    }

    static int u8(byte[] b, int at) {
        return at < b.length ? b[at] & 0xff : 0;
    }

    static int u16(byte[] b, int at) {
        return u8(b, at) | u8(b, at + 1) << 8;
    }

    static long u32(byte[] b, int at) {
        return (u16(b, at) | (long) u16(b, at + 2) << 16) & 0xffff_ffffL;
    }
}
