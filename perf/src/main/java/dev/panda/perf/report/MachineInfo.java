package dev.panda.perf.report;

import dev.panda.dataplane.stats.TscRate;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The machine a report ran on: CPU model, cores, TSC rate, kernel, JDK, the peers' versions and
 * the hugepages. A peer that is not installed reads "not installed".
 */
public record MachineInfo(
        String cpuModel,
        int cores,
        double tscGhz,
        String kernel,
        String jdk,
        String dpdk,
        String ovs,
        String qemu,
        String hugepages) {

    public static final String NOT_INSTALLED = "not installed";

    public static MachineInfo collect() {
        String cpuinfo = read("/proc/cpuinfo");
        Matcher m = Pattern.compile("model name\\s*:\\s*(.*)").matcher(cpuinfo);
        String model = m.find() ? m.group(1).strip() : "unknown";
        return new MachineInfo(
                model,
                Runtime.getRuntime().availableProcessors(),
                TscRate.parse(cpuinfo) / 1e9,
                read("/proc/sys/kernel/osrelease").strip(),
                System.getProperty("java.vm.name", "java") + " " + Runtime.version() + " ("
                        + System.getProperty("java.vendor", "?") + ")",
                dpdkVersion(),
                firstLine(List.of("/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk", "--version"), 1),
                firstLine(List.of("qemu-system-x86_64", "--version"), 1),
                hugepages(read("/proc/meminfo")));
    }

    /** "1024 x 2048 kB, 1024 free" from /proc/meminfo. */
    static String hugepages(String meminfo) {
        return field(meminfo, "HugePages_Total") + " x " + field(meminfo, "Hugepagesize") + ", "
                + field(meminfo, "HugePages_Free") + " free";
    }

    private static String field(String meminfo, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + ":\\s*(.*)$").matcher(meminfo);
        return m.find() ? m.group(1).strip() : "?";
    }

    /** DPDK's version from pkg-config (dpdk-testpmd has no --version that does not start EAL). */
    private static String dpdkVersion() {
        if (!Files.isExecutable(Path.of("/usr/bin/dpdk-testpmd"))) {
            return NOT_INSTALLED;
        }
        String v = firstLine(List.of("pkg-config", "--modversion", "libdpdk"), 1);
        return v.equals(NOT_INSTALLED) ? "dpdk-testpmd (version unknown)" : "DPDK " + v;
    }

    /** The first {@code lines} lines a command prints, joined by "; ", or "not installed". */
    private static String firstLine(List<String> cmd, int lines) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return NOT_INSTALLED;
            }
            List<String> l = new ArrayList<>(out.strip().lines().toList());
            return String.join("; ", l.subList(0, Math.min(lines, l.size())));
        } catch (IOException e) {
            return NOT_INSTALLED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return NOT_INSTALLED;
        }
    }

    private static String read(String file) {
        try {
            return Files.readString(Path.of(file));
        } catch (IOException e) {
            return "";
        }
    }
}
