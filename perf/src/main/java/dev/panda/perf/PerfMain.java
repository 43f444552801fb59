package dev.panda.perf;

import java.io.PrintStream;
import java.util.Arrays;

/** {@code panda perf}: benchmarks that print figures, and ratios against a peer run alongside. */
public final class PerfMain {

    private PerfMain() {}

    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help")) {
            out.println("usage: panda perf jmh [JMH options, e.g. -f 1 -wi 2 -i 3 RingBurst]");
            out.println("       panda perf ring-io [--pairs N] [--seconds S] [--burst N] [--no-dpdk]");
            out.println("       panda perf vhost-rx [--pairs N] [--seconds S] [--size B]");
            out.println("       panda perf virtio-tx [--pairs N] [--seconds S] [--size B] [--packed]");
            out.println("       panda perf xdp-rxdrop [--pairs N] [--seconds S] [--devargs ,K=V...] [--rxd N]"
                    + " [--against ,K=V... [--against-rxd N]] [--napi-defer]");
            out.println("       panda perf vswitch-loop [--pairs N] [--seconds S] [--warmup S]"
                    + " [--only panda-rtc,panda-pipeline,ovs,testpmd] [--idle spin|yield|park]");
            out.println("       panda perf latency [--rates 0.1,1,5] [--seconds N] [--warmup N]"
                    + " [--only ring,vswitch,ovs,testpmd]");
            out.println(
                    "       panda perf capture [--records N] [--dir DIR] [--journal-only] [--pairs N] [--seconds S]");
            out.println("       panda perf scrape-cost [--pairs N] [--seconds S] [--warmup S] [--interval S]"
                    + " [--mode rtc|pipeline] [--idle spin|yield|park]");
            out.println("       panda perf api-burst [--pairs N] [--seconds S] [--warmup S] [--mode rtc|pipeline]"
                    + " [--idle I] [--rate N|max]");
            out.println("       panda perf flow-cost [--pairs N] [--seconds S] [--warmup S] [--mode rtc|pipeline]");
            out.println("       panda perf report [--quick | --full] [--only NAME,...] [--out DIR]");
            out.println();
            out.println("  jmh      microbenchmarks: ring burst, pool alloc/free, engine per-packet cost (ns/packet)");
            out.println("  ring-io  io forwarding between two net_ring ports on one lcore, panda vs dpdk-testpmd");
            out.println("           in interleaved pairs (A B A B), printing Mpps and the median ratio");
            out.println(
                    "  vhost-rx dpdk-testpmd virtio-user txonly into panda's net_vhost vs into DPDK's net_vhost, rxonly");
            out.println(
                    "  virtio-tx panda's net_virtio_user txonly vs DPDK's virtio-user txonly, into DPDK's net_vhost rxonly");
            out.println(
                    "  xdp-rxdrop panda net_af_xdp rxdrop vs the same XDP prefilter dropping in the kernel, on a veth pair");
            out.println("  vswitch-loop a closed vhost-user loop from dpdk-testpmd (CPU 0) through a switch on CPU 1:");
            out.println("           panda vswitch rtc and pipeline, OVS-DPDK NORMAL, testpmd io; loop Mpps and busy"
                    + " cycles/packet");
            out.println("  latency  one-way latency percentiles (p50..max) of panda's paced generator at fixed rates:");
            out.println("           net_ring loop, and vhost-user loops through panda vswitch, OVS-DPDK, testpmd io");
            out.println("  scrape-cost the vswitch-loop set-up with panda rtc, without and with a /metrics scraper"
                    + " (every 1 s):");
            out.println("           pmd busy cycles/packet in interleaved rounds A, B, A again; medians and ratios");
            out.println("  api-burst the vswitch loop with panda quiet vs with a client hammering its control socket:"
                    + " pmd busy");
            out.println("           cycles/packet and loop Mpps, interleaved rounds with an A/A pair");
            out.println("  capture  Chronicle appends/s for 64 and 1500 B records; the vswitch loop without and with a"
                    + " capture of vm0");
            out.println(
                    "  flow-cost the vswitch loop with br0 NORMAL vs in flow mode (two flows): pmd busy cycles/packet,"
                            + " A B A rounds");
            out.println(
                    "  report   runs the comparisons and writes report.html (SVG plots), report.json and report.md");
            return args.length == 0 ? 2 : 0;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            return switch (args[0]) {
                case "jmh" -> {
                    org.openjdk.jmh.Main.main(rest);
                    yield 0;
                }
                case "ring-io" -> RingIoComparison.run(rest, out);
                case "vhost-rx" -> VhostRxComparison.run(rest, out);
                case "virtio-tx" -> VirtioTxComparison.run(rest, out);
                case "xdp-rxdrop" -> XdpRxDropComparison.run(rest, out);
                case "vswitch-loop" -> VswitchLoopComparison.run(rest, out);
                case "report" -> PerfReport.run(rest, out);
                case "api-burst" -> ApiBurstComparison.run(rest, out);
                case "scrape-cost" -> ScrapeCostComparison.run(rest, out);
                case "capture" -> CaptureCostComparison.run(rest, out);
                case "flow-cost" -> FlowCostComparison.run(rest, out);
                case "latency" -> dev.panda.perf.latency.LatencyBenchmark.main(rest, out);
                default -> {
                    err.println(
                            "panda perf: unknown benchmark '" + args[0]
                                    + "'; accepted: jmh, ring-io, vhost-rx, virtio-tx, xdp-rxdrop, vswitch-loop, latency, scrape-cost, api-burst, capture, flow-cost, report");
                    yield 2;
                }
            };
        } catch (IllegalArgumentException e) {
            err.println("panda perf: " + e.getMessage());
            return 2;
        } catch (Exception e) {
            err.println("panda perf: " + e);
            return 1;
        }
    }
}
