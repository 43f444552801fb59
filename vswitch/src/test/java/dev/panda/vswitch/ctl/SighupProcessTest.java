package dev.panda.vswitch.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.vswitch.VswitchChild;
import dev.panda.vswitch.config.ConfigFiles;
import dev.panda.vswitch.control.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGHUP on a real {@code panda vswitch --config FILE} process: the edited file is applied as a
 * difference (one line in the log; untouched and VLAN-changed ports keep their ids), a file with a
 * bad part or bad YAML is refused with one line and changes nothing, an unchanged file is "no
 * changes", and SIGTERM still stops the process with status 0; a process started with SIGHUP
 * ignored (as nohup starts it) reloads too.
 */
class SighupProcessTest {

    @TempDir
    Path dir;

    static final String V1 = """
            bridges:
              - name: br0
                ports:
                  - {name: n0, device: 'net_null0,no-rx=1', tag: 10}
                  - {name: n1, device: 'net_null1,no-rx=1'}
                  - {name: n3, device: 'net_null3,no-rx=1'}
            """;

    static final String V2 = """
            bridges:
              - name: br0
                mac-aging: 60
                ports:
                  - {name: n0, device: 'net_null0,no-rx=1', tag: 20}
                  - {name: n3, device: 'net_null3,no-rx=1'}
                  - {name: n2, device: 'net_null2,no-rx=1', trunks: [10, 20]}
            """;

    @Test
    void sighupAppliesTheEditedFileAndRefusesABadOne() throws Exception {
        Path sock = dir.resolve("v.ctl");
        Path file = dir.resolve("vswitch.yaml");
        Files.writeString(file, V1);
        Process p = start(file, sock);
        BlockingQueue<String> lines = VswitchChild.lines(p);
        try {
            String first = lines.poll(30, TimeUnit.SECONDS);
            assertTrue(first != null && first.contains("control socket"), "vswitch did not start: " + first);
            Map<String, Integer> ids = ids(sock);
            assertEquals(3, ids.size(), ids.toString());

            Files.writeString(file, V2);
            String line = hup(p, lines);
            assertEquals(
                    "panda vswitch: SIGHUP: " + file + ": applied 4 changes: -1 port, +1 port, ~1 bridge, ~1 port",
                    line);
            String shown = CtlRun.of(sock, "config-show").out();
            assertEquals(
                    ConfigFiles.parseYaml(V2.getBytes(StandardCharsets.UTF_8), "v2")
                            .bridges(),
                    ConfigFiles.parseYaml(shown.getBytes(StandardCharsets.UTF_8), "shown")
                            .bridges());
            Map<String, Integer> after = ids(sock);
            assertEquals(ids.get("n0"), after.get("n0"), "a VLAN change reopened n0");
            assertEquals(ids.get("n3"), after.get("n3"), "untouched n3 was reopened");

            // one bad part: refused, one line, nothing changed
            Files.writeString(file, V2 + "      - {name: x, device: 'net_bogus0'}\n");
            line = hup(p, lines);
            assertTrue(
                    line.startsWith("panda vswitch: SIGHUP: " + file
                            + " refused, nothing changed: port br0/x: no driver for device 'net_bogus0'"),
                    line);
            assertEquals(shown, CtlRun.of(sock, "config-show").out());
            // not YAML at all
            Files.writeString(file, "bridges: [\n");
            line = hup(p, lines);
            assertTrue(
                    line.startsWith("panda vswitch: SIGHUP: " + file + " refused, nothing changed: " + file + ":"),
                    line);
            assertTrue(line.contains("not YAML"), line);
            assertEquals(shown, CtlRun.of(sock, "config-show").out());
            assertEquals(after, ids(sock));
            // the same file again: nothing to do
            Files.writeString(file, V2);
            assertEquals("panda vswitch: SIGHUP: " + file + ": no changes", hup(p, lines));
            assertEquals(after, ids(sock));

            signal("TERM", p);
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "SIGTERM did not stop the vswitch");
            assertEquals(0, p.exitValue(), String.join("\n", lines));
        } finally {
            p.destroyForcibly();
        }
    }

    /**
     * Started as nohup starts it, with SIGHUP ignored (which the JVM would honour by never running
     * the reload handler): SIGHUP still re-reads the file.
     */
    @Test
    void sighupReloadsWhenStartedWithSighupIgnored() throws Exception {
        Path sock = dir.resolve("v.ctl");
        Path file = dir.resolve("vswitch.yaml");
        Files.writeString(file, V1);
        Process p = start(file, sock, "env", "--ignore-signal=HUP");
        BlockingQueue<String> lines = VswitchChild.lines(p);
        try {
            String first = lines.poll(30, TimeUnit.SECONDS);
            assertTrue(first != null && first.contains("control socket"), "vswitch did not start: " + first);
            assertEquals("panda vswitch: SIGHUP: " + file + ": no changes", hup(p, lines));
            Files.writeString(file, V2);
            assertEquals(
                    "panda vswitch: SIGHUP: " + file + ": applied 4 changes: -1 port, +1 port, ~1 bridge, ~1 port",
                    hup(p, lines));
            signal("TERM", p);
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "SIGTERM did not stop the vswitch");
            assertEquals(0, p.exitValue(), String.join("\n", lines));
        } finally {
            p.destroyForcibly();
        }
    }

    /** {@code panda vswitch --config file --control sock} in a child JVM, behind {@code prefix} (a command that execs it). */
    private static Process start(Path file, Path sock, String... prefix) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(prefix));
        cmd.addAll(VswitchChild.command(
                "--config", file.toString(), "--pmd-cores", VswitchChild.lastCpu(), "--control", sock.toString()));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    private static String hup(Process p, BlockingQueue<String> lines) throws Exception {
        signal("HUP", p);
        String line = lines.poll(60, TimeUnit.SECONDS);
        if (line == null) {
            // one CI run saw no line within 20 s: say where the vswitch's threads were
            assertNotNull(
                    line, "no log line 60 s after SIGHUP (alive " + p.isAlive() + "); its threads:\n" + threads(p));
        }
        return line;
    }

    /** The child's thread dump (jcmd Thread.print), for a failure message. */
    private static String threads(Process p) {
        try {
            Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
            Process j = new ProcessBuilder(jcmd.toString(), Long.toString(p.pid()), "Thread.print")
                    .redirectErrorStream(true)
                    .start();
            String out = new String(j.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            j.waitFor(30, TimeUnit.SECONDS);
            return out;
        } catch (Exception e) {
            return "(no thread dump: " + e + ")";
        }
    }

    private static void signal(String name, Process p) throws Exception {
        assertEquals(
                0,
                new ProcessBuilder("kill", "-" + name, Long.toString(p.pid()))
                        .start()
                        .waitFor());
    }

    private static Map<String, Integer> ids(Path sock) throws Exception {
        Map<String, Integer> m = new LinkedHashMap<>();
        JsonNode show = Json.MAPPER.readTree(CtlRun.of(sock, "--json", "show").out());
        for (JsonNode port : show.at("/bridges/0/ports")) {
            m.put(port.get("name").asText(), port.get("id").asInt());
        }
        return m;
    }
}
