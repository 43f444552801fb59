package dev.panda.dataplane.testing;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** What a dpdk-testpmd run leaves behind, removed by the peer tests that started it. */
public final class DpdkFiles {

    private DpdkFiles() {}

    /** The hugepage files and runtime directory of our --file-prefix (never anyone else's). */
    public static void remove(String prefix) throws IOException {
        Path huge = Path.of("/dev/hugepages");
        if (Files.isDirectory(huge)) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(huge, prefix + "map_*")) {
                for (Path f : files) {
                    Files.deleteIfExists(f);
                }
            }
        }
        Path run = Path.of("/var/run/dpdk", prefix);
        if (Files.isDirectory(run)) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(run)) {
                for (Path f : files) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(run);
        }
    }
}
