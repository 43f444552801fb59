package dev.panda.vswitch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The TSC rate, to express busy time in cycles as DPDK and OVS do: the nominal frequency in the
 * CPU's model name (the rate of an invariant TSC), else the first {@code cpu MHz} line.
 */
public final class TscRate {

    private TscRate() {}

    public static double ghz() {
        try {
            return parse(Files.readString(Path.of("/proc/cpuinfo")));
        } catch (IOException e) {
            return 1.0;
        }
    }

    public static double parse(String cpuinfo) {
        Matcher m = Pattern.compile("model name\\s*:.*@\\s*([0-9.]+)\\s*GHz").matcher(cpuinfo);
        if (m.find()) {
            return Double.parseDouble(m.group(1));
        }
        m = Pattern.compile("cpu MHz\\s*:\\s*([0-9.]+)").matcher(cpuinfo);
        if (m.find()) {
            return Double.parseDouble(m.group(1)) / 1000.0;
        }
        return 1.0;
    }
}
