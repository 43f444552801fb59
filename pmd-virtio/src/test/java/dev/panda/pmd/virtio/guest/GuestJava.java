package dev.panda.pmd.virtio.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * panda's Java in a QEMU guest: the host's JDK over virtio-9p (mounted at its host path, read
 * only), glibc's few shared libraries and panda's classes (class directories packed as jars)
 * in the initramfs, one JVM per boot running a main that prints {@code PANDA-CASE name ok|FAIL
 * ms detail} per case. The guest proofs of pmd-virtio and pmd-vfio share it.
 */
public final class GuestJava {

    public static final Pattern CASE = Pattern.compile("PANDA-CASE (\\S+) (ok|FAIL) (\\d+) ms ?(.*)");

    private GuestJava() {}

    /**
     * Puts glibc and the code sources of {@code anchors} (and jline's, when on the classpath)
     * into {@code init}; returns the guest's classpath. Class directories are packed as jars
     * under {@code cache}.
     */
    public static String install(Initramfs init, Path cache, Class<?>... anchors) {
        try {
            for (Path lib : glibc()) {
                init.file(lib.toString(), lib.toRealPath());
            }
            StringBuilder cp = new StringBuilder();
            for (Path entry : classpath(anchors)) {
                String name = "/panda/" + entry.getFileName().toString().replaceAll("[^A-Za-z0-9._-]", "_")
                        + (Files.isDirectory(entry)
                                ? "-" + Math.abs(entry.toString().hashCode()) + ".jar"
                                : "");
                init.file(name, Files.isDirectory(entry) ? jar(entry, cache) : entry);
                cp.append(cp.isEmpty() ? "" : ":").append(name);
            }
            return cp.toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Shell lines that mount the JDK shared with tag {@code jdk} at {@code jdkDir} (and make /tmp). */
    public static String mountJdk(String jdkDir) {
        return """
                mkdir -p %1$s /tmp
                mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro jdk %1$s || echo 'PANDA-GUEST no 9p'
                """.formatted(jdkDir);
    }

    /** The java command line for {@code main} (C1 only, SerialGC: a JVM starts about twice as fast under TCG). */
    public static String java(String jdkDir, String cp, String main, String args) {
        return jdkDir + "/bin/java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -XX:-UsePerfData"
                + " --enable-native-access=ALL-UNNAMED -Djava.io.tmpdir=/tmp -cp " + cp + " " + main + " " + args;
    }

    /** The loader and the C libraries the JDK links against (the initramfs has only busybox-static). */
    public static List<Path> glibc() {
        List<Path> libs = new ArrayList<>(List.of(Path.of("/lib64/ld-linux-x86-64.so.2")));
        for (String l : List.of("libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libz.so.1")) {
            Path p = Path.of("/lib/x86_64-linux-gnu", l);
            if (Files.exists(p)) {
                libs.add(p);
            }
        }
        return libs;
    }

    /** Where the classes of {@code anchors} come from, and jline's (testpmd's line editor) when present. */
    public static List<Path> classpath(Class<?>... anchors) throws URISyntaxException {
        Set<Path> out = new LinkedHashSet<>();
        for (Class<?> c : anchors) {
            out.add(Path.of(
                    c.getProtectionDomain().getCodeSource().getLocation().toURI()));
        }
        for (String other : List.of(
                "org.jline.reader.LineReader", "org.jline.terminal.Terminal", "org.jline.utils.AttributedString")) {
            try {
                out.add(Path.of(Class.forName(other)
                        .getProtectionDomain()
                        .getCodeSource()
                        .getLocation()
                        .toURI()));
            } catch (ClassNotFoundException e) {
                // not on this classpath: the guest runs testpmd without a terminal
            }
        }
        return List.copyOf(out);
    }

    /** A class directory packed as a jar under {@code cache} (the initramfs carries files). */
    public static Path jar(Path classes, Path cache) {
        Path out = cache.resolve("cp-" + Math.abs(classes.toString().hashCode()) + ".jar");
        try (Stream<Path> files = Files.walk(classes)) {
            Files.createDirectories(cache);
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

    /**
     * Prints every {@code PANDA-CASE} line of {@code console} and asserts that none failed and
     * that exactly {@code expected} passed, in that order (the console's tail in the message).
     */
    public static void assertCases(String console, List<String> expected) {
        Matcher m = CASE.matcher(console);
        Set<String> passed = new LinkedHashSet<>();
        List<String> failed = new ArrayList<>();
        while (m.find()) {
            System.out.printf("  %-24s %-4s %6s ms  %s%n", m.group(1), m.group(2), m.group(3), m.group(4));
            if (m.group(2).equals("ok")) {
                passed.add(m.group(1));
            } else {
                failed.add(m.group(1) + ": " + m.group(4));
            }
        }
        String tail = tail(console);
        assertTrue(failed.isEmpty(), "failed cases " + failed + "\n" + tail);
        assertEquals(expected, List.copyOf(passed), "cases that passed\n" + tail);
    }

    /** The console's last 80 lines. */
    public static String tail(String console) {
        String[] lines = console.split("\n");
        return String.join("\n", List.of(lines).subList(Math.max(0, lines.length - 80), lines.length));
    }
}
