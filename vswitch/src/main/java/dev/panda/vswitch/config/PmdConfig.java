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
 */
public record PmdConfig(List<Integer> cores, Mode mode, String idle, Stages stages, int ringSize) {

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

    public PmdConfig {
        cores = cores == null ? List.of() : List.copyOf(cores);
        mode = mode == null ? Mode.RTC : mode;
        idle = idle == null ? "yield" : idle;
        stages = stages == null ? new Stages(null, null) : stages;
        ringSize = ringSize == 0 ? DEFAULT_RING_SIZE : ringSize;
    }

    public static PmdConfig defaults() {
        return new PmdConfig(List.of(), Mode.RTC, "yield", null, DEFAULT_RING_SIZE);
    }
}
