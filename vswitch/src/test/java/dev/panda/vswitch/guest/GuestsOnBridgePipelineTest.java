package dev.panda.vswitch.guest;

import dev.panda.vswitch.config.PmdConfig;

/**
 * {@link GuestsOnBridgeTest}'s cases with the vswitch in pipeline mode: the poller publishes
 * bursts into the Disruptor ring whose classify and tx stages (on the same pmd core here) switch
 * and transmit.
 */
class GuestsOnBridgePipelineTest extends GuestsOnBridgeTest {

    @Override
    PmdConfig.Mode mode() {
        return PmdConfig.Mode.PIPELINE;
    }
}
