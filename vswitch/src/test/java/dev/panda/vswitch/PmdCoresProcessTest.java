package dev.panda.vswitch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.jextract.Posix;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code panda vswitch --pmd-cores N --metrics 127.0.0.1:0} as its own process: the pmd thread
 * runs on CPU N only and every other thread of the JVM (main, GC, JIT, Netty, the metrics
 * listener's two, housekeeping) is kept off it, read from
 * /proc/PID/task/TID; SIGTERM stops the process with status 0 and removes its control socket.
 */
class PmdCoresProcessTest {

    @TempDir
    Path dir;

    @Test
    void pmdCoreIsThePollersAloneAndSigtermStopsCleanly() throws Exception {
        int[] cpus = Posix.getAffinity();
        assertTrue(cpus.length >= 2, "needs 2 CPUs to keep threads apart, this process may use " + cpus.length);
        int pmd = cpus[cpus.length - 1];
        Path sock = dir.resolve("v.ctl");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(
                        java.toString(),
                        "--enable-native-access=ALL-UNNAMED",
                        "-cp",
                        System.getProperty("java.class.path"),
                        VswitchChild.class.getName(),
                        "--pmd-cores",
                        Integer.toString(pmd),
                        "--control",
                        sock.toString(),
                        "--metrics",
                        "127.0.0.1:0")
                .redirectErrorStream(true)
                .start();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String first = r.readLine();
            assertTrue(first != null && first.contains("control socket"), "vswitch did not start: " + first);
            String second = r.readLine();
            assertTrue(second != null && second.startsWith("panda vswitch: metrics http://127.0.0.1:"), second);
            // one scrape, so that the scrape executor's thread exists too
            var http = HttpClient.newHttpClient();
            var scrape = http.send(
                    HttpRequest.newBuilder(URI.create(second.substring(second.indexOf("http://"))))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, scrape.statusCode());
            Thread.sleep(500);
            List<String> pmdThreads = new ArrayList<>();
            List<String> others = new ArrayList<>();
            try (var tasks = Files.list(Path.of("/proc/" + p.pid() + "/task"))) {
                for (Path t : tasks.toList()) {
                    String comm;
                    String allowed;
                    try {
                        comm = Files.readString(t.resolve("comm")).strip();
                        allowed = Files.readAllLines(t.resolve("status")).stream()
                                .filter(l -> l.startsWith("Cpus_allowed_list:"))
                                .findFirst()
                                .orElseThrow()
                                .split(":")[1]
                                .strip();
                    } catch (java.io.IOException e) {
                        continue; // a thread that ended meanwhile
                    }
                    (comm.startsWith("lcore-") ? pmdThreads : others).add(comm + "=" + allowed);
                }
            }
            assertEquals(List.of("lcore-" + pmd + "=" + pmd), pmdThreads, "the pmd thread, on its core only");
            for (String o : others) {
                String allowed = o.substring(o.lastIndexOf('=') + 1);
                assertFalse(covers(allowed, pmd), "thread " + o + " may run on pmd core " + pmd + "; all: " + others);
            }
            assertTrue(others.stream().anyMatch(o -> o.startsWith("panda-ctl")), "no Netty control thread? " + others);
            assertTrue(
                    others.stream().filter(o -> o.startsWith("panda-metrics")).count() == 2,
                    "metrics event loop and scrape thread? " + others);
            new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "SIGTERM did not stop the vswitch");
            assertEquals(0, p.exitValue());
            assertFalse(Files.exists(sock), "control socket left behind");
        } finally {
            p.destroyForcibly();
        }
    }

    /** True if a Cpus_allowed_list such as {@code 0}, {@code 0-1} or {@code 0,2-3} includes cpu. */
    private static boolean covers(String list, int cpu) {
        for (String part : list.split(",")) {
            String[] ab = part.split("-");
            int a = Integer.parseInt(ab[0]);
            int b = ab.length > 1 ? Integer.parseInt(ab[1]) : a;
            if (cpu >= a && cpu <= b) {
                return true;
            }
        }
        return false;
    }
}
