package dev.panda.vswitch.config;

import java.util.List;

/** The whole state the config file holds and {@code panda ctl config-show} prints. */
public record VswitchConfig(PmdConfig pmd, List<BridgeConfig> bridges) {

    public VswitchConfig {
        pmd = pmd == null ? PmdConfig.defaults() : pmd;
        bridges = bridges == null ? List.of() : List.copyOf(bridges);
    }

    public static VswitchConfig empty() {
        return new VswitchConfig(PmdConfig.defaults(), List.of());
    }
}
