package dev.panda.pmd.virtio.vduse;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.port.Port;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.guest.GuestCases;
import dev.panda.pmd.virtio.guest.QemuGuest;
import dev.panda.pmd.virtio.guest.VdpaGuest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proof of net_vduse: in the vDPA guest (bookworm-backports' kernel under TCG) the guest
 * kernel's own virtio_net drives panda's VDUSE device; {@link VduseGuestMain} runs the cases in one
 * JVM and prints their timings.
 */
@Tag("peer")
class VduseGuestTest {

    @TempDir
    Path dir;

    @Test
    void theGuestKernelsVirtioNetDrivesPandasVduseDevice() {
        long t0 = System.nanoTime();
        String console;
        long up;
        try (QemuGuest g = VdpaGuest.of(VduseGuestMain.class)
                .classes(VduseDevice.class, Port.class, Posix.class)
                .start(Path.of("target", "guest"), dir.resolve("console.log"))) {
            g.await(VdpaGuest.UP, Duration.ofSeconds(180));
            up = System.nanoTime();
            g.await(VdpaGuest.EXIT, Duration.ofSeconds(600));
            g.awaitExit(Duration.ofSeconds(60));
            console = g.console();
        }
        System.out.printf(
                "vduse guest: QEMU start to modules loaded %d ms, JVM and cases %d ms%n",
                (up - t0) / 1_000_000, (System.nanoTime() - up) / 1_000_000);
        GuestCases.check(
                console,
                List.of("icmpecho", "removed-on-close", "frames-and-counters", "driver-reset", "sigkill-restart"));
        assertTrue(console.contains("PANDA-VDUSE-DONE failures=0"), GuestCases.tail(console, 60));
    }
}
