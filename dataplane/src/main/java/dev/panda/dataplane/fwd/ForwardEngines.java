package dev.panda.dataplane.fwd;

import dev.panda.dataplane.fwd.engines.FlowGenEngine;
import dev.panda.dataplane.fwd.engines.IcmpEchoEngine;
import dev.panda.dataplane.fwd.engines.IoEngine;
import dev.panda.dataplane.fwd.engines.MacEngine;
import dev.panda.dataplane.fwd.engines.MacSwapEngine;
import dev.panda.dataplane.fwd.engines.RxOnlyEngine;
import dev.panda.dataplane.fwd.engines.TxOnlyEngine;
import java.util.List;
import java.util.function.Supplier;

/** The one table of forwarding modes; it also feeds {@code set fwd} help and completion. */
public final class ForwardEngines {

    /** A mode: its name, one line of help, and a factory for one instance per stream. */
    public record Mode(String name, String help, Supplier<ForwardEngine> factory) {}

    private static final List<Mode> TABLE = List.of(
            new Mode("io", "forward packets unchanged", IoEngine::new),
            new Mode("mac", "set source MAC to the tx port's, destination to its peer's", MacEngine::new),
            new Mode("macswap", "swap source and destination MAC", MacSwapEngine::new),
            new Mode("flowgen", "generate UDP packets over N flows (--flowgen-flows)", FlowGenEngine::new),
            new Mode(
                    "rxonly",
                    "receive and free (checks payload stamps with --verify-payload, times them with --latency)",
                    RxOnlyEngine::new),
            new Mode("txonly", "generate UDP packets (--txpkts bytes, --tx-rate PPS, --latency)", TxOnlyEngine::new),
            new Mode("icmpecho", "answer ARP requests and ICMP echo requests", IcmpEchoEngine::new));

    private ForwardEngines() {}

    public static List<Mode> modes() {
        return TABLE;
    }

    public static List<String> names() {
        return TABLE.stream().map(Mode::name).toList();
    }

    /** The mode called {@code name}; the error names every accepted one. */
    public static Mode byName(String name) {
        for (Mode m : TABLE) {
            if (m.name().equals(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException(
                "invalid forwarding mode '" + name + "': accepted " + String.join(", ", names()));
    }
}
