package dev.panda.vswitch.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panda.jextract.Posix;
import dev.panda.vswitch.Control;
import dev.panda.vswitch.Vswitch;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.control.ControlServer;
import dev.panda.vswitch.ctl.CtlClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acknowledged control changes per second through the control socket, journal on and off (printed,
 * not asserted): add-br then del-br of the same bridge, one client, one request at a time. Asserts
 * only that every change was acknowledged and that the journal replays to the end state.
 *
 * <p>The same for OpenFlow flow mods through the API (add-flow, then del-flows --strict of it).
 *
 * <p>{@code -Djournal.bench.changes=N} (default 400) sets the changes per run; the lead's figure:
 * {@code ./mvnw -B -q -pl vswitch test -Dtest=JournalThroughputTest -Djournal.bench.changes=20000}.
 */
class JournalThroughputTest {

    /** The in-process vswitch moved this JVM's threads off its pmd cores: give them every CPU back. */
    @org.junit.jupiter.api.AfterEach
    void everyCpuAgain() {
        dev.panda.vswitch.AllCpus.restore();
    }

    @TempDir
    Path dir;

    @Test
    void changesPerSecondWithAndWithoutTheJournal() throws Exception {
        int n = Integer.getInteger("journal.bench.changes", 400);
        double off = run(n, false);
        double on = run(n, true);
        double offAgain = run(n, false);
        double onAgain = run(n, true);
        System.out.printf(
                "JournalThroughputTest: %d acknowledged changes per run: journal off %.0f/s, %.0f/s; journal on"
                        + " (msync each) %.0f/s, %.0f/s%n",
                n, off, offAgain, on, onAgain);
        try (Journal j = Journal.open(dir.resolve("state-true/journal"), ChangeKinds.standard(), 1000)) {
            assertEquals(List.of(), j.recovery().problems());
            assertEquals(List.of(), j.recovery().state().bridges());
        }
    }

    /**
     * Acknowledged flow mods per second through the control API (add-flow then a strict del-flows
     * of it, one at a time), journal on (each flow mod msynced before the answer) and off.
     */
    @Test
    void flowModsPerSecondWithAndWithoutTheJournal() throws Exception {
        int n = Integer.getInteger("journal.bench.changes", 400);
        double off = flows(n, false);
        double on = flows(n, true);
        double offAgain = flows(n, false);
        double onAgain = flows(n, true);
        System.out.printf(
                "JournalThroughputTest: %d acknowledged flow mods per run: journal off %.0f/s, %.0f/s; journal on"
                        + " (msync each) %.0f/s, %.0f/s%n",
                n, off, offAgain, on, onAgain);
        try (Journal j = Journal.open(dir.resolve("flows-true/journal"), ChangeKinds.standard(), 1000)) {
            assertEquals(List.of(), j.recovery().problems());
            assertEquals(0, j.recovery().journalState().flowCount());
        }
    }

    private double flows(int n, boolean journal) throws Exception {
        int[] cpus = Posix.getAffinity();
        VswitchConfig config = new VswitchConfig(
                new PmdConfig(List.of(cpus[cpus.length - 1]), PmdConfig.Mode.RTC, "park", null, 0),
                List.of(dev.panda.vswitch.config.BridgeConfig.of("bench")));
        Journal j = journal ? Journal.open(dir.resolve("flows-true/journal"), ChangeKinds.standard(), 1000) : null;
        JournaledControl jc = j == null ? null : new JournaledControl(j);
        Vswitch v = Vswitch.start(config, new Vswitch.Restore(java.util.Map.of(), jc));
        Control control = v;
        if (jc != null) {
            jc.begin(v);
            control = jc;
        }
        Path sock = dir.resolve("flows-" + journal + ".ctl");
        ControlServer server = ControlServer.start(sock, control, null);
        try {
            CtlClient ctl = new CtlClient(sock, Duration.ofSeconds(10));
            byte[] add = "{\"flow\": \"priority=100,ip,nw_dst=198.18.0.1,actions=output:1\"}"
                    .getBytes(StandardCharsets.UTF_8);
            byte[] del = "{\"command\": \"delete-strict\", \"flow\": \"table=0,priority=100,ip,nw_dst=198.18.0.1\"}"
                    .getBytes(StandardCharsets.UTF_8);
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i += 2) {
                assertEquals(
                        200,
                        ctl.call("POST", "/v1/bridges/bench/flows", add, null).status());
                assertEquals(
                        200,
                        ctl.call("DELETE", "/v1/bridges/bench/flows", del, null).status());
            }
            return n / ((System.nanoTime() - t0) / 1e9);
        } finally {
            server.close();
            if (control instanceof AutoCloseable c) {
                c.close();
            }
        }
    }

    private double run(int n, boolean journal) throws Exception {
        int[] cpus = Posix.getAffinity();
        VswitchConfig config = new VswitchConfig(
                new PmdConfig(List.of(cpus[cpus.length - 1]), PmdConfig.Mode.RTC, "park", null, 0), List.of());
        Vswitch v = Vswitch.start(config);
        Control control = v;
        Journal j = null;
        if (journal) {
            j = Journal.open(dir.resolve("state-true/journal"), ChangeKinds.standard(), 1000);
            j.begin(v.config());
            control = new JournaledControl(v, j);
        }
        Path sock = dir.resolve("bench-" + journal + ".ctl");
        ControlServer server = ControlServer.start(sock, control, null);
        try {
            CtlClient ctl = new CtlClient(sock, Duration.ofSeconds(10));
            byte[] br = "{\"name\": \"bench0\"}".getBytes(StandardCharsets.UTF_8);
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i += 2) {
                assertEquals(201, ctl.call("POST", "/v1/bridges", br, null).status());
                assertEquals(
                        204,
                        ctl.call("DELETE", "/v1/bridges/bench0", null, null).status());
            }
            return n / ((System.nanoTime() - t0) / 1e9);
        } finally {
            server.close();
            if (control instanceof AutoCloseable c) {
                c.close();
            }
        }
    }
}
