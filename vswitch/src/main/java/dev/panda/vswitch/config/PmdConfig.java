package dev.panda.vswitch.config;

import java.util.List;

/**
 * The pollers: which CPUs they (and the pipeline stages) run on and how packets are processed.
 *
 * @param cores   CPUs for the pmd threads, like OVS's pmd-cpu-mask; one poller per CPU; every other
 *                thread of the process stays off them
 * @param mode    {@code rtc}: each poller does rx, switching and tx; {@code pipeline}: pollers publish
 *                bursts into a Disruptor ring whose handlers classify and transmit
 * @param idle    what a poller does after a pass that moved nothing: spin, yield or park
 * @param stages  pipeline mode only: the CPU of the classify stage and of the tx stage (null: the
 *                last pmd core)
 * @param ringSize pipeline mode only: events (bursts) in the Disruptor ring, a power of two
 * @param burst   most packets a poller takes from one rx queue per poll, and most packets staged
 *                for one tx queue before they are sent ({@link #MAX_BURST} at most)
 */
public record PmdConfig(List<Integer> cores, Mode mode, String idle, Stages stages, int ringSize, int burst) {

    public enum Mode {
        RTC,
        PIPELINE;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Mode parse(String s) {
            return switch (s) {
                case "rtc" -> RTC;
                case "pipeline" -> PIPELINE;
                default -> throw new IllegalArgumentException("mode must be rtc or pipeline, got '" + s + "'");
            };
        }
    }

    /** CPUs of the pipeline's classify and transmit handlers. */
    public record Stages(Integer classify, Integer tx) {}

    public static final int DEFAULT_RING_SIZE = 1024;

    /**
     * The default burst. 128, not the 32 of OVS's and DPDK's poll loops: in the vhost-user loop of
     * {@code perf vswitch-loop} (256-entry rings) a run-to-completion pmd spent 0.924 and 0.931 of
     * the busy cycles per packet it spent at 32 (medians of 7 interleaved rounds each; A/A 1.003
     * and 0.998), because each poll's fixed costs (the avail index read, the used index store and
     * its fence, the per-burst calls) are shared by up to four times as many packets. 256 measured
     * 0.989: a burst the size of the whole ring leaves the driver nothing to refill meanwhile.
     */
    public static final int DEFAULT_BURST = 128;

    /** The largest burst ({@link dev.panda.dataplane.port.PacketBurst#MAX_BURST}). */
    public static final int MAX_BURST = dev.panda.dataplane.port.PacketBurst.MAX_BURST;

    public PmdConfig {
        cores = cores == null ? List.of() : List.copyOf(cores);
        mode = mode == null ? Mode.RTC : mode;
        idle = idle == null ? "yield" : idle;
        stages = stages == null ? new Stages(null, null) : stages;
        ringSize = ringSize == 0 ? DEFAULT_RING_SIZE : ringSize;
        burst = burst == 0 ? DEFAULT_BURST : burst;
        if (burst < 1 || burst > MAX_BURST) {
            throw new IllegalArgumentException("burst must be 1.." + MAX_BURST + ", got " + burst);
        }
    }

    /** With the default burst. */
    public PmdConfig(List<Integer> cores, Mode mode, String idle, Stages stages, int ringSize) {
        this(cores, mode, idle, stages, ringSize, DEFAULT_BURST);
    }

    public static PmdConfig defaults() {
        return new PmdConfig(List.of(), Mode.RTC, "yield", null, DEFAULT_RING_SIZE, DEFAULT_BURST);
    }
}
