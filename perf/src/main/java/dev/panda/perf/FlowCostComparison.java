package dev.panda.perf;

import dev.panda.vswitch.Views;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FlowMod;
import dev.panda.vswitch.flow.FlowModResult;
import dev.panda.vswitch.flow.FlowText;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code panda perf flow-cost}: the vswitch loop of {@code vswitch-loop} (dpdk-testpmd on CPU 0,
 * panda's vswitch on CPU 1) with br0 as the learning bridge (A, NORMAL), with br0 in flow mode
 * (B: two flows, {@code in_port=vm0 actions=output:vm1} and back, so every packet goes through the
 * exact-match cache and, on a miss, the tuple-space classifier), and NORMAL again (A/A, the
 * spread), in interleaved rounds; busy cycles per packet and the loop's rate.
 */
final class FlowCostComparison {

    private FlowCostComparison() {}

    static int run(String[] args, PrintStream out) throws Exception {
        int pairs = 7;
        int seconds = 10;
        int warmup = 3;
        PmdConfig.Mode mode = PmdConfig.Mode.RTC;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pairs" -> pairs = RingIoComparison.positive(args, ++i);
                case "--seconds" -> seconds = RingIoComparison.positive(args, ++i);
                case "--warmup" -> warmup = RingIoComparison.positive(args, ++i);
                case "--mode" -> {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException("--mode needs rtc or pipeline");
                    }
                    mode = PmdConfig.Mode.parse(args[++i]);
                }
                case "-h", "--help" -> {
                    out.println("usage: panda perf flow-cost [--pairs N (7)] [--seconds S (10)] [--warmup S (3)]"
                            + " [--mode rtc|pipeline (rtc)]");
                    return 0;
                }
                default ->
                    throw new IllegalArgumentException("unknown flow-cost option '" + args[i]
                            + "'; accepted --pairs N, --seconds S, --warmup S, --mode M");
            }
        }
        if (!DpdkProcess.available()) {
            throw new IllegalArgumentException(DpdkProcess.TESTPMD + " not found: run scripts/setup");
        }
        if (Runtime.getRuntime().availableProcessors() < 2) {
            throw new IllegalArgumentException("flow-cost needs CPUs 0 and 1");
        }
        String idle = mode == PmdConfig.Mode.RTC ? "spin" : "yield";
        out.printf(
                "flow-cost: %d round(s) of A (br0 NORMAL), B (br0 in flow mode, two flows), A again (A/A);"
                        + " warm-up %d s, window %d s; panda vswitch %s on CPU %d, dpdk-testpmd on CPU %d%n",
                pairs, warmup, seconds, mode.label(), LoopSwitches.SWITCH_CPU, LoopSwitches.TRAFFIC_CPU);
        List<ScrapeCostComparison.Result> a = new ArrayList<>();
        List<ScrapeCostComparison.Result> b = new ArrayList<>();
        List<ScrapeCostComparison.Result> again = new ArrayList<>();
        Logger pandaLog = Logger.getLogger("dev.panda");
        Level level = pandaLog.getLevel();
        pandaLog.setLevel(Level.SEVERE);
        LoopRun loop = new LoopRun(warmup, seconds);
        try {
            for (int r = 1; r <= pairs; r++) {
                String[] labels = {"A NORMAL", "B two flows", "A again (A/A)"};
                for (int i = 0; i < 3; i++) {
                    LoopSwitches.Starter starter = i == 1
                            ? LoopSwitches.panda(mode, idle, (v, dir, cpus) -> {
                                installFlows(v);
                                return () -> {};
                            })
                            : LoopSwitches.panda(mode, idle);
                    ScrapeCostComparison.Result res;
                    try {
                        double[] x = loop.measure("panda-" + mode.label() + (i == 1 ? "-flows" : ""), starter);
                        res = new ScrapeCostComparison.Result(x[1], x[0], 0, Double.NaN);
                        out.printf(
                                "  round %d  %-15s busy %7.1f cycles/packet  %7.3f Mpps%n",
                                r, labels[i], res.cycles(), res.mpps());
                    } catch (Exception e) {
                        res = new ScrapeCostComparison.Result(Double.NaN, Double.NaN, 0, Double.NaN);
                        out.printf(
                                "  round %d  %-15s failed: %s%n",
                                r, labels[i], VswitchLoopComparison.tail(e.getMessage(), 20));
                    }
                    (i == 0 ? a : i == 1 ? b : again).add(res);
                }
            }
        } finally {
            loop.close();
            pandaLog.setLevel(level);
        }
        out.println();
        out.printf("medians over %d round(s):  busy cycles/packet   loop Mpps%n", pairs);
        out.printf(
                "  %-24s %18.1f %11.3f%n",
                "A NORMAL", ScrapeCostComparison.median(a, true), ScrapeCostComparison.median(a, false));
        out.printf(
                "  %-24s %18.1f %11.3f%n",
                "B flow mode, two flows", ScrapeCostComparison.median(b, true), ScrapeCostComparison.median(b, false));
        out.printf(
                "  %-24s %18.1f %11.3f%n",
                "A again", ScrapeCostComparison.median(again, true), ScrapeCostComparison.median(again, false));
        out.println("median of the per-round ratios (busy cycles/packet):");
        ScrapeCostComparison.ratio(out, "B/A (flow mode vs NORMAL)", b, a);
        ScrapeCostComparison.ratio(out, "A again/A (the spread)", again, a);
        return 0;
    }

    /** vm0 to vm1 and back by port number, as {@code ovs-ofctl add-flow} would install them. */
    static void installFlows(Vswitch v) {
        int vm0 = -1;
        int vm1 = -1;
        for (Views.BridgeView br : v.show().bridges()) {
            for (Views.PortView p : br.ports()) {
                if (p.name().equals("vm0")) {
                    vm0 = p.id();
                } else if (p.name().equals("vm1")) {
                    vm1 = p.id();
                }
            }
        }
        if (vm0 < 0 || vm1 < 0) {
            throw new IllegalStateException("br0 has no ports vm0 and vm1");
        }
        BridgeFlows flows = v.flows("br0");
        for (String f : List.of(
                "priority=10,in_port=" + vm0 + ",actions=output:" + vm1,
                "priority=10,in_port=" + vm1 + ",actions=output:" + vm0)) {
            FlowModResult r = flows.apply(FlowText.parse(f, FlowMod.Command.ADD));
            if (!r.isOk()) {
                throw new IllegalStateException("flow '" + f + "' refused: " + r.message());
            }
        }
    }
}
