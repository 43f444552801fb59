package dev.panda.pmd.virtio.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.MatchResult;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guest kit on its own: a guest mounts a host directory over virtio-9p and prints a file from
 * it; a marker it never prints times out with the console's tail; close() ends a guest that would
 * run for ten more minutes.
 */
@Tag("peer")
class QemuGuestTest {

    @TempDir
    Path dir;

    @Test
    void guestReadsA9pShareAndCloseEndsQemu() throws Exception {
        QemuGuest.requireInstalled();
        Path share = dir.resolve("share");
        Files.createDirectories(share);
        Files.writeString(
                share.resolve("hello.txt"),
                "panda-9p-" + ProcessHandle.current().pid() + "\n");
        Path initramfs = Initramfs.forHostKernel()
                .modules("virtio_pci", "9pnet_virtio", "9p") // virtio_pci: the transport, no module depends on it
                .script("""
                        mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose host /mnt
                        echo "PANDA-9P $(cat /mnt/hello.txt)"
                        sleep 600
                        """)
                .build(Path.of("target", "guest"));
        QemuGuest.Builder b = QemuGuest.builder(QemuGuest.kernel(QemuGuest.defaultKernelRelease()), initramfs)
                .memoryMb(192)
                .share9p("host", share, true);
        assertTrue(
                b.command().contains("memory-backend-memfd,id=mem,size=192M,share=on"),
                b.command().toString());
        QemuGuest g = b.start(dir.resolve("console.log"));
        try {
            MatchResult m = g.await(Pattern.compile("PANDA-9P (\\S+)"), Duration.ofSeconds(180));
            assertEquals("panda-9p-" + ProcessHandle.current().pid(), m.group(1));
            AssertionError e =
                    assertThrows(AssertionError.class, () -> g.await("NEVER-PRINTED", Duration.ofMillis(500)));
            assertTrue(
                    e.getMessage().contains("did not show 'NEVER-PRINTED'")
                            && e.getMessage().contains("PANDA-9P"),
                    e.getMessage());
            assertTrue(g.alive(), "the guest sleeps");
            assertTrue(Files.readString(dir.resolve("console.log")).contains("PANDA-9P"), "console copied to the log");
        } finally {
            long t = System.nanoTime();
            g.close();
            assertFalse(g.alive(), "close() ended QEMU");
            assertTrue(System.nanoTime() - t < 20_000_000_000L, "close() took too long");
        }
    }
}
