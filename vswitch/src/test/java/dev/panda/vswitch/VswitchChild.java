package dev.panda.vswitch;

/** {@code panda vswitch} in a child JVM for tests that need a process of its own. */
public final class VswitchChild {

    private VswitchChild() {}

    /**
     * The flags of this JVM a child JVM needs too (FFM access, and Chronicle Queue's opens/exports and
     * properties from {@code scripts/lib/chronicle.jvmargs}, which surefire's argLine passes).
     */
    public static java.util.List<String> jvmFlags() {
        return java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-")
                        || a.startsWith("--enable-native-access")
                        || a.startsWith("--sun-misc-unsafe-memory-access")
                        || a.startsWith("-Dchronicle."))
                .toList();
    }

    public static void main(String[] args) {
        System.exit(VswitchMain.run(args, System.out, System.err));
    }
}
