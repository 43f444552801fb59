package dev.panda.pmd.virtio.guest;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The vDPA guest harness itself: bookworm-backports' kernel boots under TCG with its vDPA modules,
 * the JDK comes over 9p and a main from the test classpath finds the vduse management device with
 * iproute2's {@code vdpa}.
 */
@Tag("peer")
class VdpaGuestTest {

    @TempDir
    Path dir;

    @Test
    void theGuestKernelHasTheVdpaBusAndTheJvmRuns() {
        long t0 = System.nanoTime();
        String console;
        long up;
        try (QemuGuest g =
                VdpaGuest.of(VdpaProbeMain.class).start(Path.of("target", "guest"), dir.resolve("console.log"))) {
            g.await(VdpaGuest.UP, Duration.ofSeconds(180));
            up = System.nanoTime();
            g.await(VdpaGuest.EXIT, Duration.ofSeconds(300));
            g.awaitExit(Duration.ofSeconds(60));
            console = g.console();
        }
        System.out.printf(
                "vdpa guest: start to modules loaded %d ms, JVM and cases %d ms%n",
                (up - t0) / 1_000_000, (System.nanoTime() - up) / 1_000_000);
        GuestCases.check(console, List.of("jvm", "vdpa-mgmtdev", "devices"));
        assertTrue(console.contains("PANDA-JAVA-EXIT rc=0"), GuestCases.tail(console, 40));
    }
}
