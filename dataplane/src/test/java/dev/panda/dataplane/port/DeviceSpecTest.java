package dev.panda.dataplane.port;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DeviceSpecTest {

    @Test
    void parsesNameAndArguments() {
        DeviceSpec s = DeviceSpec.parse("net_pcap0,rx_pcap=/tmp/in.pcap,tx_pcap=out.pcap,no-rx=1");
        assertEquals("net_pcap0", s.name());
        assertEquals(Map.of("rx_pcap", "/tmp/in.pcap", "tx_pcap", "out.pcap", "no-rx", "1"), s.args());
        assertTrue(s.getBool("no-rx", false));
        assertEquals(7, DeviceSpec.parse("x,n=7").getInt("n", 0, 0, 10));
        assertEquals(16, DeviceSpec.parse("x,n=0x10").getInt("n", 0, 0, 100));
    }

    @Test
    void errorsNameTheProblem() {
        assertMessage("empty device string", () -> DeviceSpec.parse(""));
        assertMessage("invalid device name '0abc'", () -> DeviceSpec.parse("0abc"));
        assertMessage("expected key=value", () -> DeviceSpec.parse("net_ring0,size"));
        assertMessage("key 'a' given twice", () -> DeviceSpec.parse("net_ring0,a=1,a=2"));
        assertMessage(
                "expected an integer 1..9", () -> DeviceSpec.parse("x,n=10").getInt("n", 1, 1, 9));
        assertMessage("expected 0 or 1", () -> DeviceSpec.parse("x,b=maybe").getBool("b", false));
        assertMessage("x accepts a, b", () -> DeviceSpec.parse("x,c=1").requireKnownKeys("x", Set.of("b", "a")));
        assertMessage("invalid device name 'a?b'", () -> DeviceSpec.parse("a\nb"));
    }

    @Test
    void longestDriverPrefixWinsAndSuffixMustBeAnIndex() {
        Ports ports = Ports.discover();
        assertEquals("net_ring", ports.driverFor(DeviceSpec.parse("net_ring12")).name());
        assertEquals("net_null", ports.driverFor(DeviceSpec.parse("net_null")).name());
        assertMessage("no driver for device 'net_ringx'", () -> ports.driverFor(DeviceSpec.parse("net_ringx")));
    }

    @Test
    void requiredValuesAndMacs() {
        DeviceSpec spec = DeviceSpec.parse("net_x0,iface=eth1,empty=,mac=02:00:00:00:0a:0B");
        assertEquals("eth1", spec.require("iface", "eth0"));
        assertMessage("net_x0: empty= is required (e.g. empty=eth0)", () -> spec.require("empty", "eth0"));
        assertMessage("net_x0: other= is required", () -> spec.require("other", "eth0"));
        assertEquals(0x02_00_00_00_0a_0bL, spec.getMac("mac", 7));
        assertEquals(7, spec.getMac("absent", 7));
        for (String bad :
                new String[] {"03:00:00:00:00:01", "02:00:00:00:01", "02:00:00:00:00:01:02", "zz:00:00:00:00:01"}) {
            DeviceSpec s = DeviceSpec.parse("net_x0,mac=" + bad);
            assertMessage("mac=" + bad + " is not a unicast MAC", () -> s.getMac("mac", 0));
        }
    }

    private static void assertMessage(String part, Runnable r) {
        RuntimeException e = assertThrows(RuntimeException.class, r::run);
        assertTrue(e.getMessage().contains(part), "'" + part + "' not in: " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    /**
     * Any device string either opens (and closes) a port or fails with a DeviceException carrying
     * a one-line message; nothing else escapes and no buffer is lost.
     */
    @FuzzTest(maxDuration = "10s")
    void anyDeviceStringFailsCleanly(FuzzedDataProvider data) {
        String text = data.consumeRemainingAsString();
        try (PacketPool pool =
                PacketPool.create(PoolConfig.defaults().withCount(64).withHugepages(PoolConfig.Hugepages.OFF))) {
            try {
                Port p = Ports.discover().open(text, PortContext.of(pool, 0));
                p.close();
            } catch (DeviceException e) {
                assertFalse(e.getMessage().contains("\n"), e.getMessage());
            }
            assertEquals(pool.capacity(), pool.available());
        }
    }
}
