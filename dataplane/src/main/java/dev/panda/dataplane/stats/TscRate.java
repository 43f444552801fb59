package dev.panda.dataplane.stats;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The TSC rate in Hz, to turn busy time measured with {@code System.nanoTime()} into cycles as
 * DPDK and OVS report them: the nominal frequency in {@code /proc/cpuinfo}'s model name (the rate
 * of an invariant TSC, "... @ 2.40GHz"), else its first {@code cpu MHz} line (what a VM whose
 * model name has no frequency shows), else 1 GHz. Read once.
 */
public final class TscRate {

    private static final double HZ = read();

    private TscRate() {}

    public static double hz() {
        return HZ;
    }

    private static double read() {
        try {
            return parse(Files.readString(Path.of("/proc/cpuinfo")));
        } catch (IOException e) {
            return 1e9;
        }
    }

    /** The rate {@code cpuinfo} (the text of /proc/cpuinfo) gives, in Hz. */
    public static double parse(String cpuinfo) {
        Matcher m = Pattern.compile("model name\\s*:.*@\\s*([0-9.]+)\\s*GHz").matcher(cpuinfo);
        if (m.find()) {
            return Double.parseDouble(m.group(1)) * 1e9;
        }
        m = Pattern.compile("cpu MHz\\s*:\\s*([0-9.]+)").matcher(cpuinfo);
        if (m.find()) {
            return Double.parseDouble(m.group(1)) * 1e6;
        }
        return 1e9;
    }
}
