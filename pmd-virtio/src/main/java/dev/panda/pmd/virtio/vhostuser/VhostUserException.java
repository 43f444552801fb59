package dev.panda.pmd.virtio.vhostuser;

/**
 * A vhost-user peer asked for something panda refuses or cannot do (a memory table with
 * overlapping regions, a region beyond the end of its file, a file that cannot be mapped).
 * Checked, so the socket loop handles it: log it, count it, fail the request, keep the port up.
 */
public final class VhostUserException extends Exception {

    public VhostUserException(String message) {
        super(message);
    }

    public VhostUserException(String message, Throwable cause) {
        super(message, cause);
    }
}
