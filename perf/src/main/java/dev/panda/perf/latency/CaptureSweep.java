package dev.panda.perf.latency;

import dev.panda.perf.LoopSwitches;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.capture.CaptureSpec;
import dev.panda.vswitch.capture.CaptureView;
import dev.panda.vswitch.config.PmdConfig;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The highest offered rate a capture keeps up with: panda's paced generator (one lcore on the traffic
 * CPU, two virtio-user ports) offers frames at a fixed rate through panda's vswitch (br0, vm0 and vm1,
 * one pmd on the switch CPU); a capture of everything vm0 receives runs for each rate's window. A rate
 * is captured without loss when the capture dropped nothing and captured every frame it matched. The
 * capture's writer thread runs off the pmd core, on the traffic CPU beside the generator's lcore: on
 * a two-CPU machine that is the share of a CPU it gets.
 */
public final class CaptureSweep {

    /** One rate's outcome. */
    public record Step(double offeredPps, double achievedPps, long matched, long captured, long dropped) {
        public boolean lossless() {
            return dropped == 0 && captured == matched && matched > 0;
        }
    }

    private CaptureSweep() {}

    /**
     * Runs {@code ratesPps} in order (each: {@code seconds} of capture at that rate after a second's
     * warm-up without one), stopping after the second rate in a row that lost frames; prints a line
     * per rate and the highest lossless rate.
     */
    public static List<Step> run(
            PmdConfig.Mode mode, String idle, Path base, double[] ratesPps, int seconds, PrintStream out)
            throws Exception {
        Path dir = Files.createTempDirectory(base, "panda-capture-sweep");
        Path state = dir.resolve("state");
        Vswitch[] sw = {null};
        LoopSwitches.Starter starter = LoopSwitches.panda(mode, idle, (v, d, cpus) -> {
            v.stateDir(state);
            sw[0] = v;
            return () -> {};
        });
        java.util.ArrayList<Step> steps = new java.util.ArrayList<>();
        out.printf(
                "capture sweep: panda's paced generator -> vm0 -> br0 -> vm1, a capture of vm0 rx (no filter,"
                        + " full frames) for %d s per rate%n",
                seconds);
        try (TrafficSide t = new TrafficSide(
                        List.of(
                                "net_virtio_user0,path=" + dir.resolve("vm0.sock") + ",server=1",
                                "net_virtio_user1,path=" + dir.resolve("vm1.sock") + ",server=1"),
                        LoopSwitches.TRAFFIC_CPU);
                LoopSwitches.LoopSwitch loop =
                        starter.start(dir, dir.resolve("vm0.sock"), dir.resolve("vm1.sock"), "sweep")) {
            t.awaitLinks(System.nanoTime() + TimeUnit.SECONDS.toNanos(60));
            int lossy = 0;
            int n = 0;
            for (double pps : ratesPps) {
                t.run(pps, 1, 1); // warm the path at this rate without a capture
                String name = "sweep" + n++;
                sw[0].captureStart(new CaptureSpec(name, "vm0", "rx", 0, null, null, 0, 0));
                TrafficSide.Run r = t.run(pps, 0, seconds);
                CaptureView c = sw[0].captureStop(name);
                if (!loop.alive()) {
                    throw new IllegalStateException("the switch died at " + pps + " pps");
                }
                Step s = new Step(pps, r.achievedPps(), c.matched(), c.captured(), c.dropped());
                steps.add(s);
                out.printf(
                        "  offered %9.0f pps  sent %9.0f pps  matched %10d captured %10d dropped %10d  %s%n",
                        pps,
                        r.achievedPps(),
                        s.matched(),
                        s.captured(),
                        s.dropped(),
                        s.lossless() ? "no loss" : "LOSS");
                lossy = s.lossless() ? 0 : lossy + 1;
                if (lossy == 2) {
                    break;
                }
            }
        } finally {
            LoopSwitches.deleteTree(dir);
        }
        double best = steps.stream()
                .filter(Step::lossless)
                .mapToDouble(Step::achievedPps)
                .max()
                .orElse(Double.NaN);
        out.printf(
                "highest rate captured without loss: %s%n",
                Double.isNaN(best) ? "none of the rates tried" : String.format("%.0f pps (achieved)", best));
        return steps;
    }
}
