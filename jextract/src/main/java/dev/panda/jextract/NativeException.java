package dev.panda.jextract;

/**
 * A failed native call: which call, and the {@code errno} it left behind.
 *
 * <p>The message reads like {@code memfd_create(panda-pool) failed: ENOMEM (Cannot allocate memory)}.
 */
public final class NativeException extends RuntimeException {

    private final String call;
    private final int errno;

    /**
     * @param call  the call as it should appear in the message, e.g. {@code "mmap"} or
     *              {@code "memfd_create(panda-pool)"}
     * @param errno the captured errno
     */
    public NativeException(String call, int errno) {
        super(call + " failed: " + Posix.errnoName(errno) + " (" + Posix.strerror(errno) + ")");
        this.call = call;
        this.errno = errno;
    }

    /** The call that failed, as given to the constructor. */
    public String call() {
        return call;
    }

    /** The errno the call left behind. */
    public int errno() {
        return errno;
    }
}
