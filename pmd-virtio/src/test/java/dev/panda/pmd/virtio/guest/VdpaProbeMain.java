package dev.panda.pmd.virtio.guest;

import static dev.panda.pmd.virtio.guest.GuestCases.check;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs in {@link VdpaGuest} for {@link VdpaGuestTest}: the guest's JVM sees the vDPA bus: the vduse
 * management device is listed by {@code vdpa mgmtdev show}, {@code /dev/vduse/control} and
 * {@code /dev/vhost-net} exist.
 */
public final class VdpaProbeMain {

    public static void main(String[] args) {
        GuestCases cases = new GuestCases(System.out);
        cases.run("jvm", () -> "java " + Runtime.version() + " on " + System.getProperty("os.version"));
        cases.run("vdpa-mgmtdev", () -> {
            String out = run("vdpa", "mgmtdev", "show");
            check(out.contains("vduse"), "vdpa mgmtdev show lists no vduse: " + out);
            return out.strip().replace('\n', ' ');
        });
        cases.run("devices", () -> {
            for (String d : new String[] {"/dev/vduse/control", "/dev/vhost-net", "/dev/net/tun"}) {
                check(Files.exists(Path.of(d)), d + " missing");
            }
            return "/dev/vduse/control, /dev/vhost-net, /dev/net/tun";
        });
        System.out.println("PANDA-PROBE-DONE failures=" + cases.failures());
        System.exit(cases.failures() == 0 ? 0 : 1);
    }

    static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        check(rc == 0, String.join(" ", command) + " exit " + rc + ": " + out);
        return out;
    }
}
