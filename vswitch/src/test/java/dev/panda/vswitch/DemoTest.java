package dev.panda.vswitch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.jextract.Posix;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The README's first command: {@code panda vswitch --demo}, two namespaces (the kernel's own stack
 * on veth pairs, the bridge ports on AF_XDP) pinging each other through br0, in both modes; the
 * namespaces are gone afterwards. Needs root.
 */
class DemoTest {

    @ParameterizedTest
    @EnumSource(PmdConfig.Mode.class)
    void containersPingEachOtherThroughTheBridge(PmdConfig.Mode mode) throws Exception {
        int[] cpus = Posix.getAffinity();
        PmdConfig pmd = new PmdConfig(List.of(), mode, "yield", null, 256);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int rc;
        try (PacketPool pool = PacketPool.create(PoolConfig.defaults());
                Vswitch v = Vswitch.start(
                        new VswitchConfig(pmd, List.of()), pool, new int[] {cpus[cpus.length - 1]}, false)) {
            rc = Demo.run(v, new PrintStream(buf, true, StandardCharsets.UTF_8));
            assertTrue(v.show().bridges().isEmpty(), "the demo removes its bridge");
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, rc, out);
        assertTrue(out.contains("3 packets transmitted, 3 received"), out);
        assertTrue(out.contains("demo ok"), out);
        // both containers' MACs learned, one on each port
        assertTrue(
                out.lines()
                                .filter(l -> l.matches("\\s+c[12]\\s+0\\s+[0-9A-F:]{17}\\s+\\d+"))
                                .count()
                        >= 2,
                out);
        Process p = new ProcessBuilder("ip", "netns", "list").start();
        String ns = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        assertFalse(ns.contains("pdemo"), "namespaces left behind: " + ns);
    }
}
