package dev.panda.dataplane.testpmd;

import java.util.function.IntConsumer;

/** SIGINT and SIGTERM for the non-interactive run: stop forwarding and print statistics. */
final class Signals {

    private Signals() {}

    @SuppressWarnings("restriction")
    static void onInterrupt(IntConsumer handler) {
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), s -> handler.accept(s.getNumber()));
            } catch (IllegalArgumentException e) {
                // signal not available on this platform: the default action stays
            }
        }
    }
}
