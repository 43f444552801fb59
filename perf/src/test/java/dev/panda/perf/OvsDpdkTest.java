package dev.panda.perf;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * OVS-DPDK as the loop comparisons start and stop it leaves nothing on the host: its userspace
 * datapath makes two persistent taps for br0 ({@code br0} and {@code ovs-netdev}), which outlive an
 * ovs-vswitchd stopped with the bridge still configured. Needs openvswitch-switch-dpdk and
 * hugepages (scripts/setup installs both); fails, saying so, without them.
 */
class OvsDpdkTest {

    private static final String[] TAPS = {"br0", "ovs-netdev"};

    @Test
    void stoppingRemovesTheBridgesTaps(@TempDir Path dir) throws Exception {
        assertTrue(OvsDpdk.available(), OvsDpdk.VSWITCHD + " is missing: run scripts/setup (openvswitch-switch-dpdk)");
        for (String tap : TAPS) {
            assertFalse(exists(tap), tap + " exists before the test: another OVS or bridge uses the name; remove it");
        }
        OvsDpdk ovs = OvsDpdk.start(
                dir,
                "panda-ovs-test-" + ProcessHandle.current().pid(),
                LoopSwitches.OVS_SOCKET_MEM,
                LoopSwitches.OVS_SOCKET_LIMIT);
        try {
            for (String tap : TAPS) {
                assertTrue(
                        exists(tap), tap + " not made by OVS's netdev datapath: the check below would prove nothing");
            }
        } finally {
            ovs.close();
        }
        for (String tap : TAPS) {
            assertFalse(exists(tap), tap + " left on the host after OVS stopped");
        }
    }

    private static boolean exists(String name) {
        return Files.exists(Path.of("/sys/class/net", name));
    }
}
