package dev.panda.vswitch.config;

import java.util.List;

/**
 * The whole state the config file holds and {@code panda ctl config-show} prints.
 *
 * @param metrics the {@code /metrics} listener (off when absent)
 * @param stateDir where captures (and journals) live ({@code state-dir}; null: /var/lib/panda, not printed)
 */
public record VswitchConfig(PmdConfig pmd, List<BridgeConfig> bridges, MetricsConfig metrics, String stateDir) {

    public VswitchConfig {
        pmd = pmd == null ? PmdConfig.defaults() : pmd;
        bridges = bridges == null ? List.of() : List.copyOf(bridges);
        metrics = metrics == null ? MetricsConfig.off() : metrics;
    }

    public VswitchConfig(PmdConfig pmd, List<BridgeConfig> bridges, MetricsConfig metrics) {
        this(pmd, bridges, metrics, null);
    }

    /** No metrics listener. */
    public VswitchConfig(PmdConfig pmd, List<BridgeConfig> bridges) {
        this(pmd, bridges, null);
    }

    public static VswitchConfig empty() {
        return new VswitchConfig(PmdConfig.defaults(), List.of());
    }

    public VswitchConfig withMetrics(MetricsConfig m) {
        return new VswitchConfig(pmd, bridges, m, stateDir);
    }

    public VswitchConfig withStateDir(String dir) {
        return new VswitchConfig(pmd, bridges, metrics, dir);
    }
}
