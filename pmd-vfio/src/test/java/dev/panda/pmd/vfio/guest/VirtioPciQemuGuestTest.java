package dev.panda.pmd.vfio.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.port.Port;
import dev.panda.jextract.Posix;
import dev.panda.pmd.vfio.VirtioPciDriver;
import dev.panda.pmd.virtio.guest.Initramfs;
import dev.panda.pmd.virtio.guest.QemuGuest;
import dev.panda.pmd.virtio.ring.DriverQueue;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
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
    private static final Pattern CASE = Pattern.compile("PANDA-CASE (\\S+) (ok|FAIL) (\\d+) ms ?(.*)");
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
        Path javaHome = Path.of(System.getProperty("java.home"));
        long t0 = System.nanoTime();
        Initramfs init = Initramfs.forHostKernel()
                .modules("virtio_pci", "virtio_net", "vfio-pci", "vfio_iommu_type1", "9pnet_virtio", "9p");
        for (Path lib : glibc()) {
            init.file(lib.toString(), lib.toRealPath());
        }
        StringBuilder cp = new StringBuilder();
        for (Path entry : classpath()) {
            String name = "/panda/" + entry.getFileName().toString().replaceAll("[^A-Za-z0-9._-]", "_")
                    + (Files.isDirectory(entry)
                            ? "-" + Math.abs(entry.toString().hashCode()) + ".jar"
                            : "");
            init.file(name, Files.isDirectory(entry) ? jar(entry) : entry);
            cp.append(cp.isEmpty() ? "" : ":").append(name);
        }
        String jdk = javaHome.toString();
        init.script("""
                mkdir -p %1$s /tmp
                mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro jdk %1$s || echo 'PANDA-GUEST no 9p'
                IF=$(ls /sys/bus/pci/devices/0000:00:06.0/virtio*/net/)
                ip addr add 198.18.0.2/24 dev $IF
                ip link set $IF promisc on
                ip link set $IF up
                echo "PANDA-GUEST-UP if=$IF"
                %1$s/bin/java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -XX:-UsePerfData \
                  --enable-native-access=ALL-UNNAMED -Djava.io.tmpdir=/tmp -cp %2$s \
                  dev.panda.pmd.vfio.guest.VfioGuestMain $IF %3$s
                echo "PANDA-VFIO-EXIT rc=$?"
                """.formatted(jdk, cp, DUT));
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
                        "virtio-net-pci,netdev=hp1,addr=06.0,mac=52:54:00:00:06:00,romfile=")
                .share9p("jdk", javaHome, true);
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
        Matcher m = CASE.matcher(console);
        Set<String> passed = new LinkedHashSet<>();
        List<String> failed = new ArrayList<>();
        while (m.find()) {
            System.out.printf("  %-20s %-4s %6s ms  %s%n", m.group(1), m.group(2), m.group(3), m.group(4));
            if (m.group(2).equals("ok")) {
                passed.add(m.group(1));
            } else {
                failed.add(m.group(1) + ": " + m.group(4));
            }
        }
        String tail = tail(console);
        assertTrue(failed.isEmpty(), "failed cases " + failed + "\n" + tail);
        assertEquals(CASES, List.copyOf(passed), "cases that passed\n" + tail);
        assertTrue(console.contains("PANDA-VFIO-DONE failures=0") && console.contains("PANDA-VFIO-EXIT rc=0"), tail);
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    private static String tail(String console) {
        String[] lines = console.split("\n");
        return String.join("\n", List.of(lines).subList(Math.max(0, lines.length - 80), lines.length));
    }

    /** The loader and the C libraries the JDK links against (the initramfs has only busybox-static). */
    private static List<Path> glibc() {
        List<Path> libs = new ArrayList<>(List.of(Path.of("/lib64/ld-linux-x86-64.so.2")));
        for (String l : List.of("libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libz.so.1")) {
            Path p = Path.of("/lib/x86_64-linux-gnu", l);
            if (Files.exists(p)) {
                libs.add(p);
            }
        }
        return libs;
    }

    /** Where the classes the guest runs come from: pmd-vfio (main and test), pmd-virtio, dataplane, jextract, jline. */
    private static List<Path> classpath() throws URISyntaxException {
        Set<Path> out = new LinkedHashSet<>();
        for (Class<?> c :
                List.of(VfioGuestMain.class, VirtioPciDriver.class, DriverQueue.class, Port.class, Posix.class)) {
            out.add(Path.of(
                    c.getProtectionDomain().getCodeSource().getLocation().toURI()));
        }
        try {
            Class<?> jline = Class.forName("org.jline.reader.LineReader");
            out.add(Path.of(
                    jline.getProtectionDomain().getCodeSource().getLocation().toURI()));
            for (String other : List.of("org.jline.terminal.Terminal", "org.jline.utils.AttributedString")) {
                out.add(Path.of(Class.forName(other)
                        .getProtectionDomain()
                        .getCodeSource()
                        .getLocation()
                        .toURI()));
            }
        } catch (ClassNotFoundException e) {
            // testpmd's line editor is not on this classpath: the guest runs testpmd without a terminal
        }
        return List.copyOf(out);
    }

    /** A class directory packed as a jar under target/guest (the initramfs carries files). */
    private static Path jar(Path classes) {
        Path out = CACHE.resolve("cp-" + Math.abs(classes.toString().hashCode()) + ".jar");
        try (Stream<Path> files = Files.walk(classes)) {
            Files.createDirectories(CACHE);
            try (JarOutputStream j = new JarOutputStream(Files.newOutputStream(out))) {
                for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                    JarEntry e = new JarEntry(classes.relativize(f).toString().replace('\\', '/'));
                    e.setTime(0);
                    j.putNextEntry(e);
                    Files.copy(f, j);
                    j.closeEntry();
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
