package dev.panda.pmd.virtio.virtiouser;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.port.Port;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.guest.GuestCases;
import dev.panda.pmd.virtio.guest.GuestJvm;
import dev.panda.pmd.virtio.guest.Initramfs;
import dev.panda.pmd.virtio.guest.QemuGuest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proof of {@code net_virtio_user,path=/dev/vhost-net}: a QEMU guest under TCG with Debian's
 * kernel (vhost_net and tun as modules; the host has no vhost-net), the host's JDK over 9p, and
 * one JVM running {@link KernelDeviceGuestMain} in {@code vhost-net} mode: panda opens the
 * guest's /dev/vhost-net with a TAP it creates, frames go both ways between panda and the guest
 * kernel's TAP interface (AF_PACKET, payloads compared), the TAP's counters equal panda's, close
 * leaves no buffer, TAP or fd behind, and ioctl and open errors read as one line.
 */
@Tag("peer")
class VirtioUserVhostNetGuestTest {

    private static final Path CACHE = Path.of("target", "guest");
    private static final String TAP = "pvtap0";
    private static final List<String> CASES = List.of(
            "vhost-net-open", "kernel-to-panda", "panda-to-kernel", "counters", "close", "errors", "testpmd-icmpecho");

    @TempDir
    Path dir;

    @Test
    void pandaDrivesTheKernelsVhostNetWithATap() throws Exception {
        QemuGuest.requireInstalled();
        long t0 = System.nanoTime();
        List<String> modules = new ArrayList<>(GuestJvm.MODULES);
        modules.addAll(List.of("tun", "vhost_net"));
        Initramfs init = Initramfs.forHostKernel().modules(modules.toArray(String[]::new));
        GuestJvm jvm = GuestJvm.install(
                init, CACHE, KernelDeviceGuestMain.class, VirtioUserDriver.class, Port.class, Posix.class);
        init.script(GuestJvm.mountJdk()
                + """
                echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6
                echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
                ls -l /dev/vhost-net /dev/net/tun
                echo "PANDA-GUEST-UP"
                %1$s
                echo "PANDA-KDEV-EXIT rc=$?"
                """.formatted(jvm.java(KernelDeviceGuestMain.class.getName(), "vhost-net " + TAP)));
        Path initramfs = init.build(CACHE);
        long t1 = System.nanoTime();
        QemuGuest.Builder b = GuestJvm.shareJdk(QemuGuest.builder(QemuGuest.kernel(init.kernelRelease()), initramfs)
                .memoryMb(1024)
                .cpus(2));
        String console;
        long t2;
        long t3;
        try (QemuGuest g = b.start(dir.resolve("console.log"))) {
            g.await("PANDA-GUEST-UP", Duration.ofSeconds(180));
            t2 = System.nanoTime();
            g.await("PANDA-CASE vhost-net-open", Duration.ofSeconds(180));
            t3 = System.nanoTime();
            g.await("PANDA-KDEV-EXIT", Duration.ofSeconds(600));
            g.awaitExit(Duration.ofSeconds(60));
            console = g.console();
        }
        long t4 = System.nanoTime();
        System.out.printf(
                "vhost-net guest: initramfs %d ms, QEMU start to shell %d ms, JVM start to first case %d ms,"
                        + " cases to power-off %d ms%n",
                ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t4 - t3));
        GuestCases.check(console, CASES);
        assertTrue(
                console.contains("PANDA-KDEV-DONE failures=0") && console.contains("PANDA-KDEV-EXIT rc=0"),
                GuestCases.tail(console, 80));
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }
}
