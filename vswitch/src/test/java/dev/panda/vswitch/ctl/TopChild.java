package dev.panda.vswitch.ctl;

/** {@code panda top} in a child JVM, for tests that run it in a terminal of its own (tmux). */
public final class TopChild {

    private TopChild() {}

    public static void main(String[] args) {
        System.exit(TopMain.run(args, System.out, System.err));
    }
}
