package dev.panda.pmd.virtio.guest;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The guest the vDPA proofs run in: {@link BackportsKernel} (bookworm-backports' 6.12, with
 * {@code -cpu qemu64,-cx16}) under TCG, its vDPA modules loaded in modules.dep order, iproute2's
 * {@code vdpa} tool and iputils' {@code ping} with their libraries, the host's JDK over 9p
 * ({@link GuestJvm}) and one Java main from the test classpath that runs every case of a test class
 * in one JVM ({@link GuestCases}). The console shows {@code PANDA-GUEST-UP} when the modules are in
 * and {@code PANDA-JAVA-EXIT rc=N} when the main has ended; the guest then powers off.
 *
 * <pre>{@code
 * try (QemuGuest g = VdpaGuest.of(SomeGuestMain.class).classes(Port.class).start(cache, log)) {
 *     g.await(VdpaGuest.EXIT, Duration.ofMinutes(5));
 *     GuestCases.check(g.console(), List.of("case-a", "case-b"));
 * }
 * }</pre>
 */
public final class VdpaGuest {

    /** vDPA bus, VDUSE devices, the kernel's virtio-net on them, vhost-vdpa and vhost-net (with TAP). */
    public static final List<String> MODULES =
            List.of("vduse", "virtio_vdpa", "virtio_net", "vhost_vdpa", "vhost_net", "tun");

    public static final String UP = "PANDA-GUEST-UP";
    public static final String EXIT = "PANDA-JAVA-EXIT";

    private final Class<?> main;
    private String args = "";
    private final List<Class<?>> classes = new ArrayList<>();
    private String before = "";
    private int memoryMb = 768;
    private int cpus = 2;
    private final List<String> qemuArgs = new ArrayList<>();
    private final List<Path> programs = new ArrayList<>();
    private final List<Path> classpath = new ArrayList<>();

    private VdpaGuest(Class<?> main) {
        this.main = main;
        this.classes.add(main);
    }

    /** A guest that runs {@code main}; its code source goes onto the guest's classpath. */
    public static VdpaGuest of(Class<?> main) {
        return new VdpaGuest(main);
    }

    /** Arguments of the main (one shell word each; the guest's shell expands $VARS). */
    public VdpaGuest args(String a) {
        this.args = a;
        return this;
    }

    /** Classes whose code sources (jar or class directory) the guest's JVM needs too. */
    public VdpaGuest classes(Class<?>... cs) {
        classes.addAll(Arrays.asList(cs));
        return this;
    }

    /** Shell lines the guest runs before the JVM starts (after the modules and the JDK mount). */
    public VdpaGuest before(String script) {
        this.before = script;
        return this;
    }

    public VdpaGuest memoryMb(int mb) {
        this.memoryMb = mb;
        return this;
    }

    public VdpaGuest cpus(int n) {
        this.cpus = n;
        return this;
    }

    /**
     * Host programs copied into the guest at the same path with their shared libraries, as
     * {@code vdpa} and {@code ping} are (e.g. iproute2's {@code /usr/sbin/ip}, which, unlike
     * busybox's, moves links into network namespaces and has {@code ip netns}).
     */
    public VdpaGuest programs(Path... p) {
        programs.addAll(Arrays.asList(p));
        return this;
    }

    /**
     * Classpath entries (jars or class directories) the guest's JVM gets besides the code sources of
     * {@link #classes}: e.g. every entry of the test's own {@code java.class.path} when the main
     * needs a module's whole dependency set.
     */
    public VdpaGuest classpath(List<Path> entries) {
        classpath.addAll(entries);
        return this;
    }

    /** Extra QEMU arguments. */
    public VdpaGuest qemuArgs(String... a) {
        qemuArgs.addAll(Arrays.asList(a));
        return this;
    }

    /** Builds the initramfs (cached in {@code cache} by content) and starts QEMU; console to {@code log}. */
    public QemuGuest start(Path cache, Path log) {
        BackportsKernel k = BackportsKernel.require();
        List<String> mods = new ArrayList<>(GuestJvm.MODULES);
        mods.addAll(MODULES);
        Initramfs init = k.initramfs().modules(mods.toArray(String[]::new));
        GuestJvm.addHostProgram(init, Path.of("/usr/sbin/vdpa"));
        GuestJvm.addHostProgram(init, Path.of("/usr/bin/ping"));
        for (Path p : programs) {
            GuestJvm.addHostProgram(init, p);
        }
        List<Path> cp = new ArrayList<>(GuestJvm.codeSources(classes.toArray(Class<?>[]::new)));
        classpath.stream().filter(p -> !cp.contains(p)).forEach(cp::add);
        GuestJvm jvm = GuestJvm.install(init, cache, cp);
        // iproute2's vdpa and iputils' ping (its -A; busybox has none) before busybox's applets
        init.script(GuestJvm.mountJdk() + """
                export PATH=/usr/sbin:/usr/bin:/bin
                ip link set lo up
                echo "%s kernel=$(uname -r) vduse=$(ls /dev/vduse/control 2>&1)"
                %s
                %s
                echo "%s rc=$?"
                """.formatted(UP, before, jvm.java(main.getName(), args), EXIT));
        Path initramfs = init.build(cache);
        QemuGuest.Builder b = k.qemu(initramfs).memoryMb(memoryMb).cpus(cpus);
        GuestJvm.shareJdk(b);
        b.args(qemuArgs.toArray(String[]::new));
        return b.start(log);
    }
}
