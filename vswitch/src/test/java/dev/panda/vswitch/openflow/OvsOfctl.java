package dev.panda.vswitch.openflow;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs Debian's ovs-ofctl (openvswitch-common) with -O OpenFlow13; fails loudly if it is missing. */
final class OvsOfctl {

    static final String BIN = "/usr/bin/ovs-ofctl";

    private OvsOfctl() {}

    static void require() {
        if (!Files.isExecutable(Path.of(BIN))) {
            fail(BIN + " is missing: install Debian's openvswitch-common (scripts/setup does)");
        }
    }

    record Result(int status, String out, String err) {}

    static Result run(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(BIN, "-O", "OpenFlow13", "-t", "10"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        var out = p.getInputStream();
        var err = p.getErrorStream();
        byte[][] got = new byte[2][];
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                got[1] = err.readAllBytes();
            } catch (IOException e) {
                got[1] = new byte[0];
            }
        });
        got[0] = out.readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("ovs-ofctl " + String.join(" ", args) + " did not finish in 30 s");
        }
        t.join();
        return new Result(
                p.exitValue(), new String(got[0], StandardCharsets.UTF_8), new String(got[1], StandardCharsets.UTF_8));
    }

    /** Runs and expects exit 0; returns stdout. */
    static String ok(String... args) throws IOException, InterruptedException {
        Result r = run(args);
        if (r.status() != 0) {
            fail("ovs-ofctl " + String.join(" ", args) + " exited " + r.status() + ": " + r.err() + r.out());
        }
        return r.out();
    }
}
