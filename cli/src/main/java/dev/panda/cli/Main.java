package dev.panda.cli;

import dev.panda.dataplane.testpmd.TestpmdMain;
import dev.panda.perf.PerfMain;
import dev.panda.pmd.vfio.DevBind;
import dev.panda.pmd.vfio.PciSysfs;
import dev.panda.vswitch.VswitchMain;
import dev.panda.vswitch.ctl.CtlMain;
import dev.panda.vswitch.ctl.TopMain;
import dev.panda.xdp.cli.XdpCommand;
import java.util.Arrays;

/** The {@code panda} command: one subcommand per way users run panda. */
public final class Main {

    private Main() {}

    public static void main(String[] args) {
        if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help") || args[0].equals("help")) {
            usage();
            System.exit(args.length == 0 ? 2 : 0);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "testpmd" -> TestpmdMain.main(rest);
            case "vswitch" -> System.exit(VswitchMain.run(rest, System.out, System.err));
            case "ctl" -> System.exit(CtlMain.run(rest, System.out, System.err));
            case "top" -> System.exit(TopMain.run(rest, System.out, System.err));
            case "capture" -> System.exit(dev.panda.vswitch.capture.CaptureMain.run(rest, System.out, System.err));
            case "perf" -> System.exit(PerfMain.run(rest, System.out, System.err));
            case "xdp" -> System.exit(XdpCommand.run(rest, System.out, System.err));
            case "devbind" -> System.exit(DevBind.run(rest, PciSysfs.system(), System.out, System.err));
            case "version", "--version" -> System.out.println("panda " + version());
            default -> {
                System.err.println("panda: unknown command '" + args[0]
                        + "'; commands: testpmd, vswitch, ctl, top, capture, perf, xdp, devbind, version, help");
                System.exit(2);
            }
        }
    }

    private static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v != null ? v : "0.1.0-SNAPSHOT";
    }

    private static void usage() {
        System.out.println("usage: panda COMMAND [options]");
        System.out.println();
        System.out.println(
                "  testpmd   DPDK-testpmd-style forwarding: panda testpmd --vdev net_ring0 --vdev net_ring1 -i");
        System.out.println(
                "  vswitch   the vSwitch: panda vswitch [--config FILE] [--control PATH] [--pmd-cores LIST] [--mode rtc|pipeline]");
        System.out.println(
                "  ctl       talk to a running vswitch: panda ctl add-br|del-br|add-port|del-port|show|fdb-show|port-stats|pmd-stats|config-show");
        System.out.println(
                "  top       live view of a running vswitch: panda top [--control PATH] [--interval S] [--sort KEY] [--once]");
        System.out.println(
                "  capture   read a vswitch capture: panda capture export NAME --pcap FILE | tail NAME [--state-dir DIR]");
        System.out.println(
                "  perf      benchmarks: panda perf jmh [JMH options] | ring-io | vhost-rx | virtio-tx | xdp-rxdrop");
        System.out.println(
                "  xdp       eBPF/XDP prefilter: panda xdp load|unload|status|map dump|map update|map delete");
        System.out.println(
                "  devbind   bind PCI devices to vfio-pci: panda devbind --status | --bind=vfio-pci ADDR | -u ADDR");
        System.out.println("  version   print the version");
        System.out.println();
        System.out.println(
                "Run 'panda testpmd --help', 'panda vswitch --help', 'panda ctl --help' or 'panda top --help' for their options.");
    }
}
