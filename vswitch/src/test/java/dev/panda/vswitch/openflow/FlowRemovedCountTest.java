package dev.panda.vswitch.openflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.vswitch.EmptyVswitch;
import dev.panda.vswitch.Views;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.flow.BridgeFlows;
import dev.panda.vswitch.flow.FlowMod;
import dev.panda.vswitch.flow.FlowText;
import org.junit.jupiter.api.Test;

/**
 * FLOW_REMOVED messages the OpenFlow channel's queue has no room for are counted per bridge, and
 * the queued and dropped ones add up to every flow removed with send_flow_rem: 5,000 such flows
 * deleted at once with nothing draining the queue of 4096.
 */
class FlowRemovedCountTest {

    @Test
    void flowRemovedBeyondTheQueueAreCountedAsDropped() throws Exception {
        try (PacketPool pool = PacketPool.create(PoolConfig.defaults());
                Vswitch v = EmptyVswitch.start(pool)) {
            v.addBridge(BridgeConfig.of("br0"));
            VswitchDatapath dp = new VswitchDatapath("br0", v);
            dp.tableStats(); // binds the channel's FLOW_REMOVED listener to the bridge
            BridgeFlows f = v.flows("br0");
            int n = 5000;
            for (int i = 0; i < n; i++) {
                String flow =
                        "priority=10,ip,nw_dst=198.18." + (i >> 8) + "." + (i & 0xff) + ",send_flow_rem,actions=drop";
                assertTrue(
                        f.applyDeferred(FlowText.parse(flow, FlowMod.Command.ADD))
                                .isOk(),
                        flow);
            }
            f.flush();
            assertTrue(f.apply(FlowMod.delete(FlowMod.ALL_TABLES, null)).isOk());
            Views.PacketInView before = v.packetIns().getFirst();
            assertEquals(VswitchDatapath.MAX_REMOVED, before.flowRemovedQueued());
            assertEquals(n - VswitchDatapath.MAX_REMOVED, before.flowRemovedDropped());
            int[] got = new int[1];
            dp.drainEvents(new OfDatapath.EventSink() {
                @Override
                public void packetIn(
                        int reason,
                        int tableId,
                        long cookie,
                        int inPort,
                        long tunnelId,
                        byte[] frame,
                        int frameLen,
                        int maxLen) {}

                @Override
                public void flowRemoved(OfDatapath.FlowStats flow, int reason) {
                    got[0]++;
                }
            });
            assertEquals(VswitchDatapath.MAX_REMOVED, got[0], "every queued one reaches the channel");
        }
    }
}
