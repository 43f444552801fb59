package dev.panda.pmd.virtio.guest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SequencedSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The archive as GNU cpio reads it, and modules resolved from the host kernel's modules.dep. */
class InitramfsTest {

    @TempDir
    Path dir;

    @Test
    void newcEntriesReadBackWithGnuCpio() throws Exception {
        Path cpio = Path.of("/usr/bin/cpio");
        assertTrue(Files.isExecutable(cpio), "GNU cpio (Debian's cpio) is needed to check the archive");
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        Initramfs.Cpio w = new Initramfs.Cpio(b);
        w.add("etc", 040755, 0, 0, new byte[0]);
        w.add("etc/a", 0100644, 0, 0, "x".getBytes(StandardCharsets.US_ASCII)); // odd sizes: padding
        w.add("etc/bb", 0100755, 0, 0, "hello, guest\n".getBytes(StandardCharsets.US_ASCII));
        w.add("dev", 040755, 0, 0, new byte[0]);
        w.add("dev/console", 020600, 5, 1, new byte[0]);
        w.trailer();
        Path archive = dir.resolve("a.cpio");
        Files.write(archive, b.toByteArray());
        assertEquals(0, b.size() % 4);
        Process p = new ProcessBuilder(cpio.toString(), "-itv", "--quiet", "-F", archive.toString())
                .redirectErrorStream(true)
                .start();
        String listing = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), listing);
        List<String> lines = listing.lines().toList();
        assertEquals(5, lines.size(), listing);
        assertTrue(lines.get(1).startsWith("-rw-r--r--") && lines.get(1).endsWith(" etc/a"), listing);
        assertTrue(lines.get(2).startsWith("-rwxr-xr-x") && lines.get(2).contains(" 13 "), listing);
        assertTrue(
                lines.get(4).startsWith("crw-------")
                        && lines.get(4).contains("5,")
                        && lines.get(4).endsWith("dev/console"),
                listing);

        Path out = dir.resolve("x");
        Files.createDirectories(out);
        Process x = new ProcessBuilder(
                        cpio.toString(),
                        "-id",
                        "--quiet",
                        "--no-absolute-filenames",
                        "-F",
                        archive.toAbsolutePath().toString(),
                        "etc/*")
                .directory(out.toFile())
                .redirectErrorStream(true)
                .start();
        String err = new String(x.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(x.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, x.exitValue(), err);
        assertArrayEquals(
                "hello, guest\n".getBytes(StandardCharsets.US_ASCII), Files.readAllBytes(out.resolve("etc/bb")));
    }

    @Test
    void namedModulesComeWithTheirDependencies() {
        Initramfs i = Initramfs.forHostKernel().modules("virtio_net", "virtio-pci");
        SequencedSet<String> mods = i.resolveModules();
        List<String> names =
                mods.stream().map(m -> m.substring(m.lastIndexOf('/') + 1)).toList();
        for (String m : List.of(
                "virtio_net.ko",
                "net_failover.ko",
                "failover.ko",
                "virtio.ko",
                "virtio_ring.ko",
                "virtio_pci.ko",
                "virtio_pci_modern_dev.ko")) {
            assertTrue(names.contains(m), m + " missing from " + names);
        }
        assertEquals(names.size(), Set.copyOf(names).size(), "each module once");
        assertThrows(
                IllegalArgumentException.class,
                () -> Initramfs.forHostKernel().modules("no_such_module").resolveModules());
    }

    @Test
    void archiveIsCachedByContent() throws Exception {
        Initramfs i = Initramfs.forHostKernel().modules("virtio_net").script("echo one");
        Path a = i.build(dir);
        long m = Files.getLastModifiedTime(a).toMillis();
        Thread.sleep(20);
        assertEquals(a, i.build(dir), "same contents, same file");
        assertEquals(m, Files.getLastModifiedTime(a).toMillis(), "not rewritten");
        Path b = Initramfs.forHostKernel()
                .modules("virtio_net")
                .script("echo two")
                .build(dir);
        assertTrue(!a.equals(b), "another script, another archive");
        String init = i.initScript();
        assertTrue(
                init.startsWith("#!/bin/busybox sh\n")
                        && init.contains("modprobe virtio_net")
                        && init.contains("echo one")
                        && init.endsWith("poweroff -f\n"),
                init);
    }
}
