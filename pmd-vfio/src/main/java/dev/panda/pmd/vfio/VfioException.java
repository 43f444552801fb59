package dev.panda.pmd.vfio;

/** A VFIO set-up step that cannot go on, with a one-line reason. */
public final class VfioException extends RuntimeException {

    public VfioException(String message) {
        super(message);
    }

    public VfioException(String message, Throwable cause) {
        super(message, cause);
    }
}
