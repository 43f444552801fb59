package dev.panda.vswitch.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.jextract.Posix;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A FLOW_MOD from a real OpenFlow peer (Debian's {@code ovs-ofctl -O OpenFlow13}) that the journal
 * cannot take: the peer gets an OpenFlow error (FLOW_MOD_FAILED), the flow is not in the tables,
 * the refusal is counted ({@code flow_mods_refused_by_journal}), and the flows journaled before it
 * come back at the next start.
 */
class OpenFlowJournalRefusalTest {

    static final String OFCTL = "/usr/bin/ovs-ofctl";

    @TempDir
    Path dir;

    @AfterEach
    void everyCpuAgain() {
        dev.panda.vswitch.AllCpus.restore();
    }

    record Run(int status, String out) {}

    static Run ofctl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(OFCTL, "-O", "OpenFlow13", "-t", "10"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("ovs-ofctl " + String.join(" ", args) + " did not finish in 30 s");
        }
        return new Run(p.exitValue(), out);
    }

    @Test
    void aFlowModTheJournalRefusesGetsAnOpenFlowError() throws Exception {
        if (!Files.isExecutable(Path.of(OFCTL))) {
            fail(OFCTL + " is missing: install Debian's openvswitch-common (scripts/setup does)");
        }
        int[] cpus = Posix.getAffinity();
        Path jd = dir.resolve("journal");
        VswitchConfig config = new VswitchConfig(
                new PmdConfig(List.of(), PmdConfig.Mode.RTC, "park", null, 256),
                List.of(BridgeConfig.of("br0").withControllers(List.of("ptcp:0"))));
        try (PacketPool pool = PacketPool.create(PoolConfig.defaults());
                Journal j = Journal.open(jd, ChangeKinds.standard(), 1000)) {
            JournaledControl jc = new JournaledControl(j);
            Vswitch v = Vswitch.start(
                    config, pool, new int[] {cpus[cpus.length - 1]}, false, new Vswitch.Restore(Map.of(), jc));
            try {
                jc.begin(v);
                String target = "tcp:" + jc.controllers("br0").getFirst().address();
                assertEquals(
                        0,
                        ofctl("add-flow", target, "priority=10,in_port=1,actions=output:2")
                                .status());
                j.injectFailure(new IOException("disk full"));
                Run refused = ofctl("add-flow", target, "priority=20,in_port=2,actions=output:1");
                assertNotEquals(0, refused.status(), refused.out());
                assertTrue(refused.out().contains("OFPFMFC_UNKNOWN"), refused.out());
                Run del = ofctl("del-flows", target);
                assertNotEquals(0, del.status(), "a delete the journal refuses is refused too: " + del.out());
                j.injectFailure(null);
                String dump = ofctl("dump-flows", target).out();
                assertTrue(dump.contains("priority=10,in_port=1 actions=output:2"), dump);
                assertTrue(!dump.contains("priority=20"), dump);
                assertEquals(2L, jc.openflowCounters().get("flow_mods_refused_by_journal"));
            } finally {
                jc.close();
            }
        }
        try (Journal j = Journal.open(jd, ChangeKinds.standard(), 1000)) {
            assertEquals(1, j.recovery().journalState().flowCount());
        }
    }
}
