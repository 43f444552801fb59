package dev.panda.vswitch;

import dev.panda.jextract.Posix;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/** {@code panda vswitch} in a child JVM for tests that need a process of its own. */
public final class VswitchChild {

    private VswitchChild() {}

    /**
     * The flags of this JVM a child JVM needs too (FFM access, and Chronicle Queue's opens/exports and
     * properties from {@code scripts/lib/chronicle.jvmargs}, which surefire's argLine passes).
     */
    public static List<String> jvmFlags() {
        return java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-")
                        || a.startsWith("--enable-native-access")
                        || a.startsWith("--sun-misc-unsafe-memory-access")
                        || a.startsWith("-Dchronicle."))
                .toList();
    }

    /** The command that runs {@code panda vswitch args} in a child JVM: java, {@link #jvmFlags}, the class path. */
    public static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmFlags());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), VswitchChild.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** The last CPU this process may run on, as {@code --pmd-cores} takes it. */
    public static String lastCpu() {
        int[] cpus = Posix.getAffinity();
        return Integer.toString(cpus[cpus.length - 1]);
    }

    /** The child's output lines (stderr redirected into stdout) as they come, read by a daemon thread. */
    public static BlockingQueue<String> lines(Process p) {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    lines.add(l);
                }
            } catch (IOException e) {
                lines.add("(read failed: " + e + ")");
            }
        });
        return lines;
    }

    public static void main(String[] args) {
        System.exit(VswitchMain.run(args, System.out, System.err));
    }
}
