package dev.panda.vswitch.openflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.vswitch.EmptyVswitch;
import dev.panda.vswitch.Views;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.VswitchException;
import dev.panda.vswitch.config.ConfigDiff;
import dev.panda.vswitch.config.ConfigFiles;
import dev.panda.vswitch.config.VswitchConfig;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A bridge's {@code controllers} through a real vswitch: apply adds and changes them (a listener
 * that cannot bind refuses the whole apply and changes nothing), config-show gives them back,
 * set-controller refuses bad targets, del-br closes the listener.
 */
class ControllersApplyTest {

    static VswitchConfig yaml(String text) {
        return ConfigFiles.parseYaml(text.getBytes(StandardCharsets.UTF_8), "test.yaml");
    }

    @Test
    void applySetsControllersAllOrNothing() throws Exception {
        try (PacketPool pool = PacketPool.create(PoolConfig.defaults());
                Vswitch v = EmptyVswitch.start(pool);
                ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            ConfigDiff d = v.apply(yaml("bridges: [{name: br0, controllers: ['ptcp:0']}]\n"), false);
            assertEquals(
                    List.of("+ bridge br0 mac-aging 300 mac-table-size 8192 controllers [ptcp:0]"),
                    d.changes().stream().map(ConfigDiff.Change::line).toList());
            Views.ControllerView c = v.controllers("br0").getFirst();
            assertEquals("listening", c.state());
            int port = Integer.parseInt(c.address().substring(c.address().lastIndexOf(':') + 1));
            try (Socket s = new Socket("127.0.0.1", port)) {
                assertEquals(4, s.getInputStream().read(), "a HELLO of version 4");
            }
            VswitchConfig running = v.config();
            assertEquals(List.of("ptcp:0"), running.bridges().getFirst().controllers());
            assertTrue(v.apply(running, false).isEmpty(), "config-show applied to itself changes nothing");
            assertEquals(
                    List.of("ptcp:0"),
                    v.show().bridges().getFirst().controllers().stream()
                            .map(Views.ControllerView::target)
                            .toList());

            // a port another socket holds: the whole apply refused, nothing changed
            String bad = "bridges: [{name: br0, mac-aging: 60, controllers: ['ptcp:0', 'ptcp:" + taken.getLocalPort()
                    + "']}]\n";
            VswitchException e = assertThrows(VswitchException.class, () -> v.apply(yaml(bad), false));
            assertEquals(409, e.status(), e.getMessage());
            assertTrue(e.getMessage().contains("ptcp:" + taken.getLocalPort() + ": cannot listen"), e.getMessage());
            assertEquals(running, v.config());
            assertEquals(1, v.controllers("br0").size());

            e = assertThrows(VswitchException.class, () -> v.setController("br0", List.of("tcp:example.org:6653")));
            assertEquals(400, e.status());
            e = assertThrows(VswitchException.class, () -> v.setController("br9", List.of("ptcp:0")));
            assertEquals(404, e.status());

            v.delBridge("br0");
            assertThrows(java.io.IOException.class, () -> new Socket("127.0.0.1", port).close(), "listener closed");
        }
    }

    @Test
    void aRemovedListenersPortIsFreeWhenTheCallReturns() throws Exception {
        try (PacketPool pool = PacketPool.create(PoolConfig.defaults());
                Vswitch v = EmptyVswitch.start(pool)) {
            v.apply(yaml("bridges: [{name: br0, controllers: ['ptcp:0']}]\n"), false);
            String address = v.controllers("br0").getFirst().address();
            String target = "ptcp:" + address.substring(address.lastIndexOf(':') + 1);
            for (int i = 0; i < 50; i++) {
                v.setController("br0", List.of()); // the port is free again when this returns
                v.setController("br0", List.of(target));
                assertEquals("listening", v.controllers("br0").getFirst().state(), "round " + i);
            }
            v.delBridge("br0");
            v.apply(yaml("bridges: [{name: br1, controllers: ['" + target + "']}]\n"), false);
            assertEquals("listening", v.controllers("br1").getFirst().state(), "rebound after del-br");
        }
    }
}
