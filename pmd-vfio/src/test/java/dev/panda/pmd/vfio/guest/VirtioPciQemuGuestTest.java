package dev.panda.pmd.vfio.guest;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.port.Port;
import dev.panda.jextract.Posix;
import dev.panda.pmd.vfio.VirtioPciDriver;
import dev.panda.pmd.virtio.guest.GuestCases;
import dev.panda.pmd.virtio.guest.GuestFrames;
import dev.panda.pmd.virtio.guest.GuestJvm;
import dev.panda.pmd.virtio.guest.Initramfs;
import dev.panda.pmd.virtio.guest.QemuGuest;
import dev.panda.pmd.virtio.ring.DriverQueue;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proof of net_virtio_pci on a real (emulated) device behind a real IOMMU: a QEMU guest
 * under TCG (q35, intel-iommu with interrupt remapping, two virtio-net-pci on one hubport hub),
 * Debian's kernel with vfio-pci, the host's JDK over virtio-9p, panda's classes packed into the
 * initramfs. In the guest one JVM runs {@link VfioGuestMain}: devbind, frames both ways with the
 * guest kernel's driver on the second device, icmpecho answering the kernel's ping, reopen after
 * reset, an MSI-X wake-up and nothing left mapped. The device under test is
 * {@code disable-legacy=on,iommu_platform=on} (docs/ARCHITECTURE.md, "Peer tests").
 */
@Tag("peer")
class VirtioPciQemuGuestTest {

    private static final Path CACHE = Path.of("target", "guest");
    private static final String DUT = "0000:00:05.0";
    private static final List<String> CASES = List.of(
            "probe",
            "devbind",
            "kernel-to-panda",
            "panda-to-kernel",
            "icmpecho",
            "fwd-io",
            "fwd-mac",
            "fwd-macswap",
            "fwd-rxonly",
            "fwd-txonly",
            "fwd-flowgen",
            "reopen-after-reset",
            "interrupt",
            "dma-unmapped");

    @TempDir
    Path dir;

    @Test
    void pandaDrivesAVirtioNetDeviceThroughVfioInAGuest() throws Exception {
        QemuGuest.requireInstalled();
        long t0 = System.nanoTime();
        Initramfs init = Initramfs.forHostKernel()
                .modules("virtio_pci", "virtio_net", "vfio-pci", "vfio_iommu_type1", "9pnet_virtio", "9p");
        GuestJvm jvm = GuestJvm.install(
                init,
                CACHE,
                VfioGuestMain.class,
                VirtioPciDriver.class,
                DriverQueue.class,
                Port.class,
                Posix.class,
                GuestFrames.class);
        init.script(
                GuestJvm.mountJdk() + """
                IF=$(ls /sys/bus/pci/devices/0000:00:06.0/virtio*/net/)
                ip addr add 198.18.0.2/24 dev $IF
                ip link set $IF promisc on
                ip link set $IF up
                echo "PANDA-GUEST-UP if=$IF"
                %s
                echo "PANDA-VFIO-EXIT rc=$?"
                """.formatted(jvm.java("dev.panda.pmd.vfio.guest.VfioGuestMain", "$IF " + DUT)));
        Path initramfs = init.build(CACHE);
        long t1 = System.nanoTime();
        QemuGuest.Builder b = QemuGuest.builder(QemuGuest.kernel(init.kernelRelease()), initramfs)
                .machine("q35,kernel-irqchip=split")
                .memoryMb(1024)
                .cpus(2)
                .append("intel_iommu=on")
                .args(
                        "-device",
                        "intel-iommu,intremap=on,caching-mode=on",
                        "-netdev",
                        "hubport,id=hp0,hubid=0",
                        "-device",
                        "virtio-net-pci,netdev=hp0,addr=05.0,disable-legacy=on,iommu_platform=on,"
                                + "mac=52:54:00:00:05:00,romfile=",
                        "-netdev",
                        "hubport,id=hp1,hubid=0",
                        "-device",
                        "virtio-net-pci,netdev=hp1,addr=06.0,mac=52:54:00:00:06:00,romfile=");
        GuestJvm.shareJdk(b);
        String console;
        long t2;
        long t3;
        try (QemuGuest g = b.start(dir.resolve("console.log"))) {
            g.await("PANDA-GUEST-UP", Duration.ofSeconds(180));
            t2 = System.nanoTime();
            g.await("PANDA-CASE probe", Duration.ofSeconds(180));
            t3 = System.nanoTime();
            g.await("PANDA-VFIO-EXIT", Duration.ofSeconds(600));
            g.awaitExit(Duration.ofSeconds(60));
            console = g.console();
        }
        long t4 = System.nanoTime();
        System.out.printf(
                "vfio guest: initramfs %d ms, QEMU start to interface up %d ms, JVM start to first case %d ms,"
                        + " cases to power-off %d ms%n",
                ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t4 - t3));
        GuestCases.check(console, CASES);
        String tail = GuestCases.tail(console, 80);
        assertTrue(console.contains("PANDA-VFIO-DONE failures=0") && console.contains("PANDA-VFIO-EXIT rc=0"), tail);
        // QEMU's virtio-net-pci offers these, and the cases ran with them negotiated
        assertTrue(console.contains("MRG_RXBUF|INDIRECT_DESC|EVENT_IDX|VERSION_1|ACCESS_PLATFORM"), tail);
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }
}
