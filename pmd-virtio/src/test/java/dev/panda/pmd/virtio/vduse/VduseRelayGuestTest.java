package dev.panda.pmd.virtio.vduse;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.port.Port;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.guest.GuestCases;
import dev.panda.pmd.virtio.guest.QemuGuest;
import dev.panda.pmd.virtio.guest.VdpaGuest;
import dev.panda.pmd.virtio.virtiouser.VirtioUserDriver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The relay of issue 15 (BM-Hive, virtio-fpga-bridge shape): in the vDPA guest (bookworm-backports'
 * 6.12 under TCG), the guest kernel's interface on panda's net_vduse in one network namespace, a
 * TAP or the kernel's vhost-net in another, panda's testpmd forwarding between them; the
 * namespaces ping each other and move a file both ways, hashes compared. {@link
 * VduseRelayGuestMain} runs both cases in one JVM; iproute2's {@code ip} is copied in for {@code ip
 * netns} (busybox's cannot move links between namespaces).
 */
@Tag("peer")
class VduseRelayGuestTest {

    @Test
    void twoNamespacesTalkThroughPandaBetweenNetVduseAndASecondKernelInterface() {
        long t0 = System.nanoTime();
        String console;
        long up;
        try (QemuGuest g = VdpaGuest.of(VduseRelayGuestMain.class)
                .classes(VduseDevice.class, VirtioUserDriver.class, Port.class, Posix.class)
                .programs(Path.of("/usr/sbin/ip"))
                // ip netns keeps its namespaces under /run/netns (/var/run/netns on some builds)
                .before("mkdir -p /run/netns /var && ln -sfn /run /var/run")
                .start(Path.of("target", "guest"), Path.of("target", "guest", "relay-console.log"))) {
            g.await(VdpaGuest.UP, Duration.ofSeconds(180));
            up = System.nanoTime();
            g.await(VdpaGuest.EXIT, Duration.ofSeconds(600));
            g.awaitExit(Duration.ofSeconds(60));
            console = g.console();
        }
        System.out.printf(
                "relay guest: QEMU start to modules loaded %d ms, JVM and cases %d ms%n",
                (up - t0) / 1_000_000, (System.nanoTime() - up) / 1_000_000);
        GuestCases.check(console, List.of("relay-tap", "relay-vhost-net"));
        assertTrue(console.contains("PANDA-RELAY-DONE failures=0"), GuestCases.tail(console, 60));
    }
}
