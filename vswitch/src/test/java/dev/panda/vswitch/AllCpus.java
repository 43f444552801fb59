package dev.panda.vswitch;

import dev.panda.jextract.Posix;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.IntStream;

/**
 * Undoes what a vswitch started in the test JVM (VswitchMain.run, Vswitch.start(config)) does to
 * the JVM's threads: it moves every thread, the test runner's too, off its pmd cores, and the
 * threads and processes they start later inherit that. Tests that start one call this afterwards,
 * and tests that need every CPU call it first.
 */
public final class AllCpus {

    private AllCpus() {}

    /** Every thread of this JVM allowed on every online CPU again. */
    public static void restore() {
        int[] all =
                IntStream.range(0, Runtime.getRuntime().availableProcessors()).toArray();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path t : tasks) {
                try {
                    Posix.setThreadAffinity(Integer.parseInt(t.getFileName().toString()), all);
                } catch (RuntimeException e) {
                    // a thread that ended meanwhile
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
