package dev.panda.pmd.vfio;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code panda devbind}: shows PCI network functions and binds or unbinds them to vfio-pci, as
 * DPDK's dpdk-devbind.py does ({@code --status}, {@code -b/--bind=DRIVER ADDR...},
 * {@code -u/--unbind ADDR...}).
 */
public final class DevBind {

    private DevBind() {}

    /** Runs the command; returns the exit status (0 ok, 1 failed, 2 usage). */
    public static int run(String[] args, PciSysfs sysfs, PrintStream out, PrintStream err) {
        String bind = null;
        boolean unbind = false;
        boolean status = false;
        List<PciAddress> devices = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            try {
                if (a.equals("-s") || a.equals("--status")) {
                    status = true;
                } else if (a.equals("-u") || a.equals("--unbind")) {
                    unbind = true;
                } else if (a.equals("-b") || a.equals("--bind")) {
                    if (i + 1 >= args.length) {
                        return usage(err, a + " needs a driver name, e.g. --bind=vfio-pci");
                    }
                    bind = args[++i];
                } else if (a.startsWith("--bind=")) {
                    bind = a.substring("--bind=".length());
                } else if (a.equals("-h") || a.equals("--help")) {
                    help(out);
                    return 0;
                } else if (a.startsWith("-")) {
                    return usage(err, "unknown option '" + oneLine(a) + "'");
                } else {
                    devices.add(PciAddress.parse(a));
                }
            } catch (IllegalArgumentException e) {
                return usage(err, e.getMessage());
            }
        }
        if (bind != null && unbind) {
            return usage(err, "give either --bind or --unbind");
        }
        if ((bind != null || unbind) && devices.isEmpty()) {
            return usage(err, "name the device(s), e.g. 0000:00:05.0");
        }
        if (bind == null && !unbind) {
            status = true;
        }
        int rc = 0;
        for (PciAddress d : devices) {
            if (!sysfs.exists(d)) {
                err.println("devbind: no PCI device " + d);
                rc = 1;
                continue;
            }
            try {
                if (unbind) {
                    sysfs.unbind(d);
                    out.println(d + ": unbound");
                } else if (sysfs.driver(d).equals(bind)) {
                    out.println(d + ": already bound to " + bind);
                } else {
                    if (bind.equals("vfio-pci") && sysfs.iommuGroup(d).isEmpty()) {
                        err.println("devbind: " + d + " has no IOMMU group: enable the IOMMU (intel_iommu=on; "
                                + "-device intel-iommu in QEMU) before binding to vfio-pci");
                        rc = 1;
                        continue;
                    }
                    sysfs.bind(d, bind);
                    out.println(d + ": bound to " + bind);
                }
            } catch (RuntimeException e) {
                err.println("devbind: " + d + ": " + oneLine(String.valueOf(e.getMessage())));
                rc = 1;
            }
        }
        if (status) {
            printStatus(sysfs, out);
        }
        return rc;
    }

    static void printStatus(PciSysfs sysfs, PrintStream out) {
        List<PciSysfs.Function> net = sysfs.functions().stream()
                .filter(f -> f.isNetwork() || f.driver().equals("vfio-pci"))
                .toList();
        out.println("Network devices using vfio-pci");
        out.println("==============================");
        print(out, net.stream().filter(f -> f.driver().equals("vfio-pci")).toList());
        out.println();
        out.println("Network devices using a kernel driver or none");
        out.println("=============================================");
        print(out, net.stream().filter(f -> !f.driver().equals("vfio-pci")).toList());
        if (!Vfio.isAvailable() && sysfs.root().equals(java.nio.file.Path.of("/sys"))) {
            out.println();
            out.println("VFIO: " + Vfio.unavailabilityCause());
        }
    }

    private static void print(PrintStream out, List<PciSysfs.Function> fs) {
        if (fs.isEmpty()) {
            out.println("<none>");
        }
        for (PciSysfs.Function f : fs) {
            out.printf(
                    "%s '%04x:%04x' drv=%s iommu_group=%s%n",
                    f.address(),
                    f.vendor(),
                    f.device(),
                    f.driver().isEmpty() ? "<none>" : f.driver(),
                    f.iommuGroup().map(String::valueOf).orElse("<none>"));
        }
    }

    private static int usage(PrintStream err, String why) {
        err.println("devbind: " + oneLine(why) + "; usage: panda devbind [--status] [--bind=vfio-pci|-u] ADDR...");
        return 2;
    }

    private static void help(PrintStream out) {
        out.println("usage: panda devbind [--status] [-b DRIVER | --bind=DRIVER | -u | --unbind] [DDDD:BB:DD.F ...]");
        out.println("  -s, --status         list network PCI functions, their drivers and IOMMU groups (default)");
        out.println("  -b, --bind=DRIVER    bind the devices to DRIVER (vfio-pci for panda's net_virtio_pci)");
        out.println("  -u, --unbind         unbind the devices from their driver");
    }

    private static String oneLine(String s) {
        String t = s.replaceAll("[\\p{Cntrl}]", "?");
        return t.length() > 200 ? t.substring(0, 200) + "..." : t;
    }

    public static void main(String[] args) {
        System.exit(run(args, PciSysfs.system(), System.out, System.err));
    }
}
