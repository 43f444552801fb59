package dev.panda.pmd.vfio;

/**
 * A PCI function address, {@code DDDD:BB:DD.F} (domain, bus, device, function), as sysfs names
 * it and DPDK's {@code -a} takes it; the domain may be left out ({@code 00:05.0}).
 */
public record PciAddress(int domain, int bus, int device, int function) {

    public PciAddress {
        if (domain < 0
                || domain > 0xffff
                || bus < 0
                || bus > 0xff
                || device < 0
                || device > 0x1f
                || function < 0
                || function > 7) {
            throw new IllegalArgumentException(
                    "PCI address out of range: " + domain + ":" + bus + ":" + device + "." + function);
        }
    }

    /** Parses {@code [DDDD:]BB:DD.F} (hex); throws with the expected form on anything else. */
    public static PciAddress parse(String s) {
        String t = s == null ? "" : s.trim();
        if (!t.matches("([0-9a-fA-F]{1,4}:)?[0-9a-fA-F]{1,2}:[0-9a-fA-F]{1,2}\\.[0-7]")) {
            throw new IllegalArgumentException(
                    "invalid PCI address '" + (t.length() > 40 ? t.substring(0, 40) + "..." : t)
                            + "': expected DDDD:BB:DD.F, e.g. 0000:00:05.0");
        }
        String[] p = t.split("[:.]");
        int i = p.length == 4 ? 1 : 0;
        int domain = i == 1 ? Integer.parseInt(p[0], 16) : 0;
        return new PciAddress(
                domain, Integer.parseInt(p[i], 16), Integer.parseInt(p[i + 1], 16), Integer.parseInt(p[i + 2], 16));
    }

    @Override
    public String toString() {
        return String.format("%04x:%02x:%02x.%x", domain, bus, device, function);
    }
}
