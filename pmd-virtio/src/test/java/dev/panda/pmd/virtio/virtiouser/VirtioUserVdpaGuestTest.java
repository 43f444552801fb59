package dev.panda.pmd.virtio.virtiouser;

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
 * The proof of {@code net_virtio_user,path=/dev/vhost-vdpa-N}: a {@link VdpaGuest} (bookworm-backports'
 * 6.12 kernel with vduse and vhost_vdpa; it ships no vDPA simulator) in which one JVM runs
 * {@link KernelDeviceGuestMain} in {@code vdpa} mode: panda's {@code net_vduse} is the device,
 * bound to vhost_vdpa, and panda's {@code net_virtio_user} drives it through /dev/vhost-vdpa-N
 * with its memory at IOVAs that differ from its addresses: frames of 60 to 1514 bytes both ways
 * through the kernel's vDPA bus, payloads compared, counters equal, nothing left behind.
 */
@Tag("peer")
class VirtioUserVdpaGuestTest {

    private static final Path CACHE = Path.of("target", "guest");
    private static final String MAC = "02:70:6e:00:d5:42";
    private static final List<String> CASES =
            List.of("vdpa-open", "virtio-user-to-vduse", "vduse-to-virtio-user", "vdpa-counters", "vdpa-close");

    @TempDir
    Path dir;

    @Test
    void pandaDrivesPandasVduseDeviceThroughVhostVdpa() throws Exception {
        long t0 = System.nanoTime();
        String console;
        try (QemuGuest g = VdpaGuest.of(KernelDeviceGuestMain.class)
                .classes(VirtioUserDriver.class, Port.class, Posix.class)
                .args("vdpa " + MAC)
                .start(CACHE, dir.resolve("console.log"))) {
            g.await(VdpaGuest.UP, Duration.ofSeconds(240));
            g.await(VdpaGuest.EXIT, Duration.ofSeconds(600));
            g.awaitExit(Duration.ofSeconds(60));
            console = g.console();
        }
        System.out.printf("vdpa guest: boot to power-off %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        GuestCases.check(console, CASES);
        assertTrue(console.contains("PANDA-KDEV-DONE failures=0"), GuestCases.tail(console, 80));
    }
}
