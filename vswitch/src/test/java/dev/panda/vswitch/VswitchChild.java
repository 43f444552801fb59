package dev.panda.vswitch;

/** {@code panda vswitch} in a child JVM for tests that need a process of its own. */
public final class VswitchChild {

    private VswitchChild() {}

    public static void main(String[] args) {
        System.exit(VswitchMain.run(args, System.out, System.err));
    }
}
