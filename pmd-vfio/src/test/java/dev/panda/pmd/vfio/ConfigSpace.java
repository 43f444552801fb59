package dev.panda.pmd.vfio;

/**
 * Builds a virtio-net function's 256-byte config space for the parser tests, laid out as QEMU's
 * virtio-net-pci (disable-legacy=on) lays it out: MSI-X at 0x98, then vendor capabilities for
 * common (BAR4 +0x0), ISR (+0x1000), device (+0x2000), notify (+0x3000, multiplier 4) and PCI
 * config access (ignored), each 16 or 20 bytes long.
 */
final class ConfigSpace {

    final byte[] b = new byte[256];
    private int last = -1;

    ConfigSpace() {
        u16(0x00, VirtioPciCaps.VENDOR);
        u16(0x02, VirtioPciCaps.NET_MODERN);
        u16(0x06, 0x10); // status: capabilities list
    }

    /** QEMU's layout. */
    static ConfigSpace qemu() {
        ConfigSpace c = new ConfigSpace();
        c.msix(0x98, 3);
        c.vendor(0x88, VirtioPciCaps.COMMON_CFG, 4, 0x0000, 0x1000, 16);
        c.vendor(0x78, VirtioPciCaps.ISR_CFG, 4, 0x1000, 0x1000, 16);
        c.vendor(0x68, VirtioPciCaps.DEVICE_CFG, 4, 0x2000, 0x1000, 16);
        c.notifyCap(0x54, 4, 0x3000, 0x1000, 4);
        c.vendor(0x40, 5, 0, 0, 0, 20); // VIRTIO_PCI_CAP_PCI_CFG: ignored
        return c;
    }

    ConfigSpace u8(int at, int v) {
        b[at] = (byte) v;
        return this;
    }

    ConfigSpace u16(int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >> 8);
        return this;
    }

    ConfigSpace u32(int at, long v) {
        u16(at, (int) v & 0xffff);
        u16(at + 2, (int) (v >>> 16) & 0xffff);
        return this;
    }

    /** Links a capability header (id, next) at {@code at} without a body. */
    ConfigSpace bare(int at, int id) {
        link(at, id);
        return this;
    }

    /** Links a capability at {@code at} after the previous one (the first goes in the capability pointer). */
    private void link(int at, int id) {
        if (last < 0) {
            u8(0x34, at);
        } else {
            u8(last + 1, at);
        }
        u8(at, id);
        u8(at + 1, 0);
        last = at;
    }

    ConfigSpace msix(int at, int tableSizeMinusOne) {
        link(at, 0x11);
        u16(at + 2, tableSizeMinusOne);
        return this;
    }

    ConfigSpace vendor(int at, int type, int bar, long offset, long length, int capLen) {
        link(at, 0x09);
        u8(at + 2, capLen);
        u8(at + 3, type);
        u8(at + 4, bar);
        u32(at + 8, offset);
        u32(at + 12, length);
        return this;
    }

    ConfigSpace notifyCap(int at, int bar, long offset, long length, long multiplier) {
        vendor(at, VirtioPciCaps.NOTIFY_CFG, bar, offset, length, 20);
        u32(at + 16, multiplier);
        return this;
    }
}
