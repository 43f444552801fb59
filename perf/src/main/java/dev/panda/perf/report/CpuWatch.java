package dev.panda.perf.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How much of the machine's CPU time processes other than this JVM and its children (the peers
 * it starts: dpdk-testpmd, OVS) used between {@link #start()} and {@link #otherPercent()}: the
 * user, nice and system jiffies of /proc/stat's {@code cpu} line, less the utime, stime, cutime
 * and cstime of /proc/self/stat and of every live descendant's /proc/PID/stat, over all jiffies
 * (so 5% on two CPUs is a tenth of one CPU). Interrupt and softirq time belongs to no process
 * and is left out (the XDP runs spend theirs there), and so is steal.
 */
public final class CpuWatch {

    private final long total0;
    private final long busy0;
    private final long ours0;

    private CpuWatch(long[] machine, long ours) {
        this.total0 = machine[0];
        this.busy0 = machine[1];
        this.ours0 = ours;
    }

    public static CpuWatch start() {
        return new CpuWatch(machine(read(Path.of("/proc/stat"))), ours());
    }

    /** Others' share of all CPU time since {@link #start()}, in percent; NaN if /proc cannot be read. */
    public double otherPercent() {
        long[] m = machine(read(Path.of("/proc/stat")));
        long dt = m[0] - total0;
        if (m[0] < 0 || total0 < 0 || dt <= 0) {
            return Double.NaN;
        }
        long others = (m[1] - busy0) - (ours() - ours0);
        return Math.max(0, others) * 100.0 / dt;
    }

    /** {total jiffies, user+nice+system jiffies} from /proc/stat's first line; {-1, -1} if unreadable. */
    static long[] machine(String stat) {
        if (!stat.startsWith("cpu ")) {
            return new long[] {-1, -1};
        }
        String[] f = stat.lines().findFirst().orElseThrow().trim().split("\\s+");
        if (f.length < 5) {
            return new long[] {-1, -1};
        }
        long total = 0;
        long busy;
        try {
            // user nice system idle iowait irq softirq steal (guest time is already in user)
            for (int i = 1; i <= 8 && i < f.length; i++) {
                total += Long.parseLong(f[i]);
            }
            busy = Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3]);
        } catch (NumberFormatException e) {
            return new long[] {-1, -1};
        }
        return new long[] {total, busy};
    }

    /** utime+stime+cutime+cstime of this JVM and its live descendants. */
    private static long ours() {
        long sum = processJiffies(read(Path.of("/proc/self/stat")));
        for (ProcessHandle h : ProcessHandle.current().descendants().toList()) {
            sum += processJiffies(read(Path.of("/proc", Long.toString(h.pid()), "stat")));
        }
        return sum;
    }

    /** utime+stime+cutime+cstime (fields 14-17) of a /proc/PID/stat line; 0 if empty or malformed. */
    static long processJiffies(String stat) {
        int close = stat.lastIndexOf(')'); // the command name may hold spaces and parentheses
        if (close < 0) {
            return 0;
        }
        String[] f = stat.substring(close + 2).trim().split("\\s+");
        // f[0] is field 3 (state): field n is f[n - 3]
        if (f.length < 15) {
            return 0;
        }
        try {
            return Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return ""; // a child that just ended
        }
    }
}
