package dev.panda.vswitch.openflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.vswitch.EmptyVswitch;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.flow.BridgeFlows;
import java.io.ByteArrayOutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A peer's long run of FLOW_MODs into one table of a real bridge, as {@code ovs-ofctl add-flows}
 * of a big file sends it: 65,536 adds, each followed by a BARRIER_REQUEST. Every barrier is
 * answered with the flow before it in the table, and the table reaches the data path in a bounded
 * number of classifier rebuilds, within {@link BridgeFlows#MAX_DEFER_NANOS} of the last reply. A
 * rebuild at every barrier rebuilt the whole table once per flow, so the run took time that grew
 * with the square of its length (16,384 flows: 18 s through ovs-ofctl).
 */
class FlowModRunTest {

    @Test
    void aLongRunOfFlowModsRebuildsTheTableABoundedNumberOfTimes() throws Exception {
        int n = 65_536;
        try (PacketPool pool = PacketPool.create(PoolConfig.defaults());
                Vswitch v = EmptyVswitch.start(pool)) {
            v.addBridge(BridgeConfig.of("br0"));
            OpenFlowService service = new OpenFlowService();
            try {
                service.configure(new VswitchDatapath("br0", v), List.of(ControllerTarget.parse("ptcp:0")));
                BridgeFlows f = v.flows("br0");
                ByteArrayOutputStream run = new ByteArrayOutputStream();
                for (int i = 0; i < n; i++) {
                    ByteBuffer fm = ByteBuffer.allocate(48);
                    fm.putLong(0).putLong(0).put((byte) 0).put((byte) 0); // cookie, mask, table 0, ADD
                    fm.putShort((short) 0).putShort((short) 0).putShort((short) i); // timeouts, priority
                    fm.putInt(-1).putInt(-1).putInt(-1).putShort((short) 0).putShort((short) 0);
                    fm.putShort((short) 1).putShort((short) 4).putInt(0); // an empty match: a drop each
                    run.write(OfChannelTest.msg(4, 14, 2 * i + 10, fm.array()));
                    run.write(OfChannelTest.msg(4, 20, 2 * i + 11, new byte[0]));
                }
                try (OfChannelTest.Peer p = new OfChannelTest.Peer(
                        new Socket("127.0.0.1", service.boundPort("br0", ControllerTarget.parse("ptcp:0"))))) {
                    p.s.setSoTimeout(120_000);
                    assertEquals(0, OfChannelTest.type(p.read()));
                    p.send(OfChannelTest.hello13());
                    long g0 = f.generation();
                    long t0 = System.nanoTime();
                    p.send(run.toByteArray());
                    for (int i = 0; i < n; i++) {
                        byte[] reply = p.read();
                        assertEquals(21, OfChannelTest.type(reply), "a BARRIER_REPLY, no error");
                        assertEquals(2 * i + 11, OfChannelTest.xid(reply));
                    }
                    double s = (System.nanoTime() - t0) / 1e9;
                    assertEquals(n, f.flowCount(), "every flow in the table at the last reply");
                    long end = System.nanoTime() + 1_000_000_000L;
                    while (f.dataPathBehind() && System.nanoTime() < end) {
                        Thread.sleep(1);
                    }
                    assertTrue(!f.dataPathBehind(), "the data path has them all soon after");
                    long rebuilds = f.generation() - g0;
                    System.out.printf(
                            "%d FLOW_MODs each with a barrier: %.2f s, %d classifier rebuilds%n", n, s, rebuilds);
                    assertTrue(rebuilds <= 4096, rebuilds + " rebuilds for " + n + " FLOW_MODs");
                }
            } finally {
                service.close();
            }
        }
    }
}
