package dev.panda.vswitch.ctl;

import dev.panda.vswitch.FakeControl;
import dev.panda.vswitch.control.ControlServer;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ctl tests' set-up: a real control server on a socket in a temporary directory, in front of
 * a {@link FakeControl} that {@link #prepare} fills first; {@link #ctl} runs {@code panda ctl}
 * against it.
 */
abstract class CtlServerFixture {

    @TempDir
    Path dir;

    Path sock;
    FakeControl control;
    ControlServer server;

    /** What the control holds before the server starts (nothing by default). */
    void prepare(FakeControl control) {}

    @BeforeEach
    void start() {
        sock = dir.resolve("vswitch.ctl");
        control = new FakeControl();
        prepare(control);
        server = ControlServer.start(sock, control, null);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    CtlRun ctl(String... args) {
        return CtlRun.of(sock, args);
    }
}
