package dev.panda.vswitch;

import dev.panda.jextract.Posix;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** Which CPUs the pollers get, and keeping every other thread of the process off them. */
final class PmdCores {

    private PmdCores() {}

    /**
     * The configured cores, checked against the CPUs this process may use; with none configured,
     * the highest allowed CPU (on a machine with one CPU, that one, shared).
     */
    static int[] choose(List<Integer> configured) {
        int[] allowed = Posix.getAffinity();
        if (configured.isEmpty()) {
            return new int[] {allowed[allowed.length - 1]};
        }
        int[] cores = configured.stream().mapToInt(Integer::intValue).distinct().toArray();
        for (int c : cores) {
            if (Arrays.stream(allowed).noneMatch(a -> a == c)) {
                throw VswitchException.badRequest(
                        "pmd core " + c + " is not one this process may run on " + Arrays.toString(allowed));
            }
        }
        return cores;
    }

    /**
     * Moves every thread that exists now (main, GC, JIT, ...) to the allowed CPUs that are not pmd
     * cores; threads they create later inherit that. Nothing to do when the pmd cores are all the
     * CPUs there are.
     */
    static void keepOtherThreadsOff(int[] pmdCores) {
        int[] rest = Arrays.stream(Posix.getAffinity())
                .filter(c -> Arrays.stream(pmdCores).noneMatch(p -> p == c))
                .toArray();
        if (rest.length == 0) {
            return;
        }
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path t : tasks) {
                try {
                    Posix.setThreadAffinity(Integer.parseInt(t.getFileName().toString()), rest);
                } catch (RuntimeException e) {
                    // a thread that ended meanwhile
                }
            }
        } catch (IOException e) {
            System.err.println("panda vswitch: cannot list threads to keep them off the pmd cores: " + e.getMessage());
        }
    }
}
