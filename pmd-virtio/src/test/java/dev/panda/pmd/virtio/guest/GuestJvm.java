package dev.panda.pmd.virtio.guest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
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
 * A JVM inside a test guest: the host's JDK reaches the guest over virtio-9p (read-only, mounted at
 * the same path as {@code java.home}), glibc's few shared libraries go into the {@link Initramfs}
 * (which has only busybox-static), and the classes the guest runs (the code sources of the classes
 * named, each class directory packed as a jar) are copied into it under {@code /panda}. One JVM runs
 * many cases per boot: a boot costs about 10 s under TCG, a JVM start 2-4 s (C1 only, SerialGC).
 *
 * <p>The guest's kernel needs 9pnet_virtio and 9p (and virtio_pci on QEMU's pc and q35 machines):
 * {@link #MODULES}.
 */
public final class GuestJvm {

    /** The modules the JDK share needs in the guest. */
    public static final List<String> MODULES = List.of("virtio_pci", "9pnet_virtio", "9p");

    private static final Path JAVA_HOME = Path.of(System.getProperty("java.home"));

    private final Path cache;
    private final String classpath;

    private GuestJvm(Path cache, String classpath) {
        this.cache = cache;
        this.classpath = classpath;
    }

    /**
     * Puts glibc and the code sources of {@code roots} (their jars, or class directories packed as
     * jars in {@code cache}) into {@code init}.
     */
    public static GuestJvm install(Initramfs init, Path cache, Class<?>... roots) {
        return install(init, cache, codeSources(roots));
    }

    /**
     * Puts glibc and the classpath {@code entries} (jars, or class directories packed as jars in
     * {@code cache}) into {@code init}, e.g. a whole test classpath.
     */
    public static GuestJvm install(Initramfs init, Path cache, List<Path> entries) {
        for (Path lib : glibc()) {
            addReal(init, lib.toString(), lib);
        }
        StringBuilder cp = new StringBuilder();
        for (Path entry : entries) {
            String name = "/panda/" + entry.getFileName().toString().replaceAll("[^A-Za-z0-9._-]", "_")
                    + (Files.isDirectory(entry)
                            ? "-" + Math.abs(entry.toString().hashCode()) + ".jar"
                            : "");
            init.file(name, Files.isDirectory(entry) ? jar(cache, entry) : entry);
            cp.append(cp.isEmpty() ? "" : ":").append(name);
        }
        return new GuestJvm(cache, cp.toString());
    }

    /** The 9p share of the host's JDK, for the QEMU command line. */
    public static QemuGuest.Builder shareJdk(QemuGuest.Builder b) {
        return b.share9p("jdk", JAVA_HOME, true);
    }

    /** The guest's shell lines that mount the JDK (print PANDA-GUEST no 9p when it fails). */
    public static String mountJdk() {
        return """
                mkdir -p %1$s /tmp
                mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro jdk %1$s || echo 'PANDA-GUEST no 9p'
                """.formatted(JAVA_HOME);
    }

    /** The classpath inside the guest. */
    public String classpath() {
        return classpath;
    }

    /** A guest shell command that runs {@code main} (a class on the classpath) with {@code args}. */
    public String java(String main, String args) {
        return JAVA_HOME + "/bin/java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -XX:-UsePerfData"
                + " --enable-native-access=ALL-UNNAMED -Djava.io.tmpdir=/tmp -cp " + classpath + " " + main
                + (args.isEmpty() ? "" : " " + args);
    }

    /** Where this JVM's packed class directories are kept. */
    public Path cache() {
        return cache;
    }

    /**
     * Copies host program {@code binary} into the guest at the same path, with the shared libraries
     * {@code ldd} lists for it (e.g. iproute2's vdpa with libmnl and libcap, iputils' ping).
     */
    public static void addHostProgram(Initramfs init, Path binary) {
        if (!Files.isExecutable(binary)) {
            throw new AssertionError(binary + " not found on the host");
        }
        addReal(init, binary.toString(), binary);
        for (Path lib : sharedLibraries(binary)) {
            addReal(init, lib.toString(), lib);
        }
    }

    private static void addReal(Initramfs init, String guestPath, Path host) {
        try {
            init.file(guestPath, host.toRealPath());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot resolve " + host, e);
        }
    }

    private static final Pattern LDD = Pattern.compile("(?:=>\\s*)?(/\\S+)\\s+\\(0x");

    /** The absolute library paths {@code ldd binary} prints. */
    static List<Path> sharedLibraries(Path binary) {
        try {
            Process p = new ProcessBuilder("ldd", binary.toString())
                    .redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new AssertionError("ldd " + binary + " failed: " + out);
            }
            List<Path> libs = new ArrayList<>();
            Matcher m = LDD.matcher(out);
            while (m.find()) {
                libs.add(Path.of(m.group(1)));
            }
            return libs;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run ldd", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** The loader and the C libraries the JDK links against. */
    static List<Path> glibc() {
        List<Path> libs = new ArrayList<>(List.of(Path.of("/lib64/ld-linux-x86-64.so.2")));
        for (String l : List.of("libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libz.so.1")) {
            Path p = Path.of("/lib/x86_64-linux-gnu", l);
            if (Files.exists(p)) {
                libs.add(p);
            }
        }
        return libs;
    }

    /** The code sources of {@code roots}, and jline's when it is on the classpath (testpmd's line editor). */
    static List<Path> codeSources(Class<?>... roots) {
        Set<Path> out = new LinkedHashSet<>();
        try {
            for (Class<?> c : roots) {
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
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        return List.copyOf(out);
    }

    /** A class directory packed as a jar under {@code cache} (the initramfs carries files). */
    static Path jar(Path cache, Path classes) {
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
}
