package dev.panda.vswitch.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.vswitch.FakeControl;
import dev.panda.vswitch.config.BridgeConfig;
import dev.panda.vswitch.config.PortConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code panda top}'s arguments and refusals, and {@code --once} against the fake control behind the real server. */
class TopMainTest extends CtlServerFixture {

    @Override
    void prepare(FakeControl control) {
        control.addBridge(BridgeConfig.of("br0"));
        control.addPort("br0", PortConfig.of("vm1", "net_ring0"));
    }

    record Run(int status, String out, String err) {}

    Run top(String... args) {
        List<String> all = new ArrayList<>(List.of("--control", sock.toString()));
        all.addAll(List.of(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = TopMain.run(
                all.toArray(String[]::new),
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    void refused(String line, String... args) {
        Run r = top(args);
        assertEquals(2, r.status(), r.toString());
        assertEquals("", r.out());
        assertEquals("panda top: " + line + "\n", r.err());
    }

    @Test
    void onceAgainstTheFakeSwitch() {
        Run r = top("--once", "--interval=0.2", "--sort", "name");
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err());
        assertTrue(r.out().startsWith("# panda top --once: 0."), r.out());
        assertTrue(r.out().contains(" s between samples, socket " + sock + ", pmd mode rtc, sort name\n"), r.out());
        // the fake's counters stand still: rates 0
        List<List<String>> ports = TopModelTest.rows(r.out(), "port");
        assertEquals(List.of("c1", "vm1"), ports.stream().map(p -> p.get(1)).toList());
        assertEquals(
                List.of(
                        "port", "vm1", "br0", "up", "0.0", "0.0", "0.0", "0.0", "0.0", "2", "0.0", "10", "12", "640",
                        "768"),
                ports.get(1));
        assertEquals(
                List.of("pmd", "pmd-1", "1", "poller", "0.000", "-", "0.0", "22", "-", "-"),
                TopModelTest.rows(r.out(), "pmd").getFirst());
        assertEquals(
                List.of("bridge", "br0", "2", "8192", "2", "0", "0", "0"),
                TopModelTest.rows(r.out(), "bridge").getFirst());
    }

    @Test
    void refusals() {
        refused("unknown option --cpu (see panda top --help)", "--cpu");
        refused("--sort: unknown key 'cpu'; keys: name, rx-pps, tx-pps, rx-bps, tx-bps, drops", "--sort", "cpu");
        refused("--interval: '0' is not a number of seconds (0.1..3600)", "--interval", "0");
        refused("--interval: 'soon' is not a number of seconds (0.1..3600)", "--once", "--interval=soon");
        refused("--interval needs a value", "--interval");
        refused("--once takes no value", "--once=yes");
        // maven's JVM has no terminal: the live view refuses, --once does not need one
        refused("not a terminal; use --once to print the rates once");
        control.failNext = new IllegalStateException("boom");
        refused(sock + ": GET /v1/show was answered 500: internal error: IllegalStateException: boom", "--once");
    }

    @Test
    void noVswitchOnTheSocket() {
        server.close();
        Run r = top("--once");
        assertEquals(2, r.status());
        assertEquals("", r.out());
        assertTrue(r.err().startsWith("panda top: no vswitch listening on " + sock + " ("), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
    }

    @Test
    void help() {
        Run r = top("--help");
        assertEquals(0, r.status());
        assertTrue(
                r.out().startsWith("usage: panda top [--control PATH] [--interval SECONDS] [--sort KEY] [--once]\n"),
                r.out());
        assertTrue(
                r.out().contains("--sort KEY          order of the ports: name, rx-pps, tx-pps, rx-bps, tx-bps, drops"),
                r.out());
    }
}
