package dev.panda.vswitch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.VswitchConfig;
import dev.panda.vswitch.ctl.CtlMain;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VswitchMainTest {

    /** An in-process vswitch moves this JVM's threads off its pmd cores: give them every CPU back. */
    @org.junit.jupiter.api.AfterEach
    void everyCpuAgain() {
        AllCpus.restore();
    }

    @TempDir
    Path dir;

    static final class ClosingFake implements Control, AutoCloseable {
        final FakeControl inner = new FakeControl();
        volatile boolean closed;

        @Override
        public void close() {
            closed = true;
        }

        // delegate everything
        @Override
        public void addBridge(dev.panda.vswitch.config.BridgeConfig b) {
            inner.addBridge(b);
        }

        @Override
        public void delBridge(String b) {
            inner.delBridge(b);
        }

        @Override
        public void addPort(String b, dev.panda.vswitch.config.PortConfig p) {
            inner.addPort(b, p);
        }

        @Override
        public void delPort(String b, String p) {
            inner.delPort(b, p);
        }

        @Override
        public Views.Show show() {
            return inner.show();
        }

        @Override
        public Views.Fdb fdb(String b) {
            return inner.fdb(b);
        }

        @Override
        public Views.Stats stats(String p) {
            return inner.stats(p);
        }

        @Override
        public List<Views.PmdStatsView> pmdStats() {
            return inner.pmdStats();
        }

        @Override
        public void clearPmdStats() {
            inner.clearPmdStats();
        }

        @Override
        public VswitchConfig config() {
            return inner.config();
        }
    }

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = VswitchMain.run(
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                c -> {
                    throw new AssertionError("must not start");
                },
                new CountDownLatch(0));
        return new Run(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void startsServesAndStopsCleanly() throws Exception {
        Path file = dir.resolve("vswitch.yaml");
        Files.writeString(file, "pmd:\n  cores: [0]\n  mode: pipeline\nbridges:\n  - name: br0\n");
        Path sock = dir.resolve("ctl/vswitch.ctl");
        AtomicReference<VswitchConfig> started = new AtomicReference<>();
        ClosingFake fake = new ClosingFake();
        CountDownLatch stop = new CountDownLatch(1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CompletableFuture<Integer> rc = CompletableFuture.supplyAsync(() -> VswitchMain.run(
                new String[] {
                    "--config", file.toString(), "--control", sock.toString(), "--pmd-cores", "1-2", "--idle=park"
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                System.err,
                c -> {
                    started.set(c);
                    c.bridges().forEach(fake::addBridge);
                    return fake;
                },
                stop));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!out.toString(StandardCharsets.UTF_8).contains("control socket") && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(
                "panda vswitch: control socket " + sock + " (panda ctl --control " + sock
                        + " show); SIGTERM or Ctrl-C stops\n",
                out.toString(StandardCharsets.UTF_8));
        assertEquals(
                new PmdConfig(List.of(1, 2), PmdConfig.Mode.PIPELINE, "park", null, 0),
                started.get().pmd());
        ByteArrayOutputStream show = new ByteArrayOutputStream();
        assertEquals(
                0,
                CtlMain.run(
                        new String[] {"--control", sock.toString(), "show"},
                        new PrintStream(show, true, StandardCharsets.UTF_8),
                        System.err));
        assertTrue(show.toString(StandardCharsets.UTF_8).contains("Bridge br0"), show.toString());
        stop.countDown();
        assertEquals(0, rc.get(10, TimeUnit.SECONDS));
        assertTrue(fake.closed, "vswitch closed");
        assertFalse(Files.exists(sock), "socket removed");
    }

    @Test
    void refusals() throws Exception {
        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, "bridges:\n  - name: br0\n    ports:\n      - {name: a, device: x, tag: 5000}\n");
        Run r = run("--config", bad.toString());
        assertEquals(2, r.status());
        assertEquals("panda vswitch: " + bad + ":4: bridges[0].ports[0].tag: 5000 is not a VLAN (1..4094)\n", r.err());
        r = run("--pmd-cores", "x");
        assertEquals(2, r.status());
        assertEquals("panda vswitch: --pmd-cores: 'x' is not a CPU list (e.g. 1, 1,2 or 0-1; CPUs 0..1023)\n", r.err());
        assertEquals(2, run("--mode", "fast").status());
        assertEquals(2, run("--idle").status());
        assertEquals(
                "panda vswitch: unknown option '--nope' (see panda vswitch --help)\n",
                run("--nope").err());
        assertEquals(0, run("--help").status());

        // a socket in use: refused before the data path starts
        Path sock = dir.resolve("in-use.ctl");
        try (var s = dev.panda.vswitch.control.ControlServer.start(sock, new FakeControl(), null)) {
            r = run("--control", sock.toString());
            assertEquals(2, r.status());
            assertTrue(r.err().contains("is in use"), r.err());
        }
    }

    /** The control listener's flags: refused before anything starts, each with one line and status 2. */
    @Test
    void controlAccessRefusals() throws Exception {
        Path sock = dir.resolve("v.ctl");
        Path token = dir.resolve("token");
        Files.writeString(token, "dG9rZW4tZm9yLXZzd2l0Y2gtbWFpbi10ZXN0\n");
        Files.setPosixFilePermissions(token, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        Run r = run("--control", sock.toString(), "--control-tcp", "127.0.0.1:0", "--control-token", token.toString());
        assertEquals(2, r.status());
        assertEquals(
                "panda vswitch: control token " + token + ": mode 0644 lets group or others read it; chmod 600 " + token
                        + "\n",
                r.err());
        r = run("--control", sock.toString(), "--control-tcp", "127.0.0.1:0");
        assertEquals(2, r.status());
        assertEquals("panda vswitch: --control-tcp needs --control-token FILE\n", r.err());
        r = run("--control-token", token.toString());
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--control-token is for the TCP listener"), r.err());
        r = run("--control-tcp", "localhost");
        assertEquals(2, r.status());
        assertEquals(
                "panda vswitch: --control-tcp: 'localhost' is not ADDR:PORT (e.g. 127.0.0.1:7001 or [::1]:7001)\n",
                r.err());
        r = run("--control", sock.toString(), "--control-group", "no-such-group-pq");
        assertEquals(2, r.status());
        assertEquals("panda vswitch: --control-group: no group named 'no-such-group-pq'\n", r.err());
        r = run("--control-group", "a b");
        assertEquals(2, r.status());
        Path open = Files.createDirectory(dir.resolve("open"));
        Files.setPosixFilePermissions(open, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        r = run("--control", open.resolve("v.ctl").toString());
        assertEquals(2, r.status());
        assertTrue(r.err().contains("writable by group or others without the sticky bit"), r.err());
        assertFalse(Files.exists(sock), "nothing bound");
    }

    @Test
    void servesOnTcpWithTheToken() throws Exception {
        Path sock = dir.resolve("t.ctl");
        Path token = dir.resolve("token");
        String secret = "dG9rZW4tZm9yLXZzd2l0Y2gtbWFpbi10ZXN0";
        Files.writeString(token, secret + "\n");
        Files.setPosixFilePermissions(token, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        CountDownLatch stop = new CountDownLatch(1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ClosingFake fake = new ClosingFake();
        CompletableFuture<Integer> rc = CompletableFuture.supplyAsync(() -> VswitchMain.run(
                new String[] {
                    "--control", sock.toString(), "--control-tcp", "127.0.0.1:0", "--control-token", token.toString()
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                System.err,
                c -> fake,
                stop));
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!out.toString(StandardCharsets.UTF_8).contains("control listener tcp:")
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            String text = out.toString(StandardCharsets.UTF_8);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("control listener tcp:(\\S+) ")
                    .matcher(text);
            assertTrue(m.find(), text);
            ByteArrayOutputStream show = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int status = CtlMain.run(
                    new String[] {"--control", "tcp:" + m.group(1), "--token", token.toString(), "add-br", "br7"},
                    new PrintStream(show, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(0, status, err.toString());
            assertTrue(fake.inner.bridges.containsKey("br7"));
        } finally {
            stop.countDown();
        }
        assertEquals(0, rc.get(10, TimeUnit.SECONDS));
    }

    @Test
    void controlThreadsAvoidThePmdCores() {
        int[] free = VswitchMain.controlCpus(List.of(0));
        assertTrue(free == null || java.util.Arrays.stream(free).noneMatch(c -> c == 0));
        assertEquals(null, VswitchMain.controlCpus(List.of()));
    }
}
