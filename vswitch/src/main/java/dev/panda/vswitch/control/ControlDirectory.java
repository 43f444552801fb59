package dev.panda.vswitch.control;

import dev.panda.vswitch.VswitchException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The directory of the control socket. A missing one is created mode 0700 (0750 and the control
 * group's with {@code --control-group}), whatever the umask; its missing parents 0755. Every
 * directory from {@code /} down to it must be owned by root or this user and writable by nobody
 * else unless sticky (as /tmp): otherwise someone else could rename it and put their own socket in
 * its place, and the vswitch refuses to start (400).
 */
final class ControlDirectory {

    private static final System.Logger LOG = System.getLogger(ControlDirectory.class.getName());

    private ControlDirectory() {}

    static void prepare(Path dir, GroupPrincipal group) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        if (!Files.exists(abs)) {
            Path parent = abs.getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.createDirectory(abs);
            Files.setPosixFilePermissions(
                    abs, PosixFilePermissions.fromString(group == null ? "rwx------" : "rwxr-x---"));
            if (group != null) {
                Files.getFileAttributeView(abs, PosixFileAttributeView.class).setGroup(group);
            }
        }
        int me = uid();
        // the path as given (whoever may write a directory holding a symlink could redirect it)
        // and the path it resolves to
        for (Path d = abs; d != null; d = d.getParent()) {
            check(d, me);
        }
        for (Path d = abs.toRealPath(); d != null; d = d.getParent()) {
            check(d, me);
        }
        if (group != null) {
            int mode = (Integer) Files.getAttribute(abs, "unix:mode");
            if ((mode & 0010) == 0) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        String.format(
                                "control socket directory %s is mode %04o: group %s cannot reach the socket (chmod g+x)",
                                abs, mode & 07777, group.getName()));
            }
        }
    }

    private static void check(Path d, int me) throws IOException {
        if (!Files.isDirectory(d)) {
            throw VswitchException.badRequest("control socket directory " + d + " is not a directory");
        }
        int mode = (Integer) Files.getAttribute(d, "unix:mode");
        int owner = (Integer) Files.getAttribute(d, "unix:uid");
        if (owner != 0 && owner != me) {
            throw VswitchException.badRequest("control socket directory " + d + " is owned by uid " + owner
                    + ", neither root nor this user (uid " + me + "): its owner could replace the socket");
        }
        if ((mode & 0022) != 0 && (mode & 01000) == 0) {
            throw VswitchException.badRequest(String.format(
                    "control socket directory %s is mode %04o: writable by group or others without the sticky bit,"
                            + " so they could replace the socket (chmod go-w %s)",
                    d, mode & 07777, d));
        }
    }

    /** This process's user id: the owner of /proc/self's directory. */
    static int uid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }
}
