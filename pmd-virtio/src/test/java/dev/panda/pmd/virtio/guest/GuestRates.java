package dev.panda.pmd.virtio.guest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What the net_vduse-against-net_tap rate benches share (pmd-virtio's {@code VduseTapRateGuestMain},
 * vswitch's {@code VswitchVduseTapGuestMain}), run inside the guest: bringing a kernel interface up
 * for a run, reading its counters, and the summary line of the interleaved rounds.
 */
public final class GuestRates {

    private GuestRates() {}

    /**
     * Brings {@code ifname} up with IPv6 off (no ND or MLD frames of its own), waits up to 10 s for
     * its carrier, and returns its MAC address.
     */
    public static byte[] up(String ifname) throws Exception {
        Files.writeString(Path.of("/proc/sys/net/ipv6/conf", ifname, "disable_ipv6"), "1");
        run("ip", "link", "set", ifname, "up");
        Path carrier = Path.of("/sys/class/net", ifname, "carrier");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!Files.readString(carrier).trim().equals("1")) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(ifname + " has no carrier");
            }
            Thread.sleep(10);
        }
        return GuestFrames.macBytes(Long.parseLong(
                Files.readString(Path.of("/sys/class/net", ifname, "address"))
                        .trim()
                        .replace(":", ""),
                16));
    }

    /** The interface's {@code rx_packets}. */
    public static long rxPackets(String ifname) throws IOException {
        return Long.parseLong(Files.readString(Path.of("/sys/class/net", ifname, "statistics", "rx_packets"))
                .trim());
    }

    /** The interface whose address is {@code mac} (aa:bb:...), within 20 s. */
    public static String awaitInterface(String mac) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline) {
            try (var s = Files.list(Path.of("/sys/class/net"))) {
                for (Path p : s.toList()) {
                    Path a = p.resolve("address");
                    if (Files.isReadable(a) && Files.readString(a).trim().equalsIgnoreCase(mac)) {
                        return p.getFileName().toString();
                    }
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no interface with MAC " + mac + " after 20 s");
    }

    /** Runs a command; a non-zero exit is an AssertionError with its output. */
    public static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new AssertionError(String.join(" ", cmd) + ": " + out);
        }
    }

    /**
     * Prints the PANDA-RATE-SUMMARY line of one direction and frame length: {@code r[0]} vduse,
     * {@code r[1]} tap, {@code r[2]} vduse again, one rate per round each.
     */
    public static void summary(String dir, int len, double[][] r) {
        int pairs = r[0].length;
        double[] ratio = new double[pairs];
        double[] aa = new double[pairs];
        for (int i = 0; i < pairs; i++) {
            ratio[i] = r[0][i] / r[1][i];
            aa[i] = r[2][i] / r[0][i];
        }
        double[] aaSorted = aa.clone();
        Arrays.sort(aaSorted);
        System.out.printf(
                Locale.ROOT,
                "PANDA-RATE-SUMMARY %s %d bytes: median vduse %.0f pps, tap %.0f pps, vduse again %.0f pps;"
                        + " vduse/tap median %.2f (per round %s); A/A (vduse again/vduse) median %.2f, range %.2f..%.2f%n",
                dir,
                len,
                median(r[0]),
                median(r[1]),
                median(r[2]),
                median(ratio),
                fmt(ratio),
                median(aa),
                aaSorted[0],
                aaSorted[pairs - 1]);
    }

    static double median(double[] xs) {
        double[] w = xs.clone();
        Arrays.sort(w);
        int n = w.length;
        return n % 2 == 1 ? w[n / 2] : (w[n / 2 - 1] + w[n / 2]) / 2;
    }

    private static String fmt(double[] xs) {
        List<String> out = new ArrayList<>();
        for (double x : xs) {
            out.add(String.format(Locale.ROOT, "%.2f", x));
        }
        return String.join(" ", out);
    }
}
