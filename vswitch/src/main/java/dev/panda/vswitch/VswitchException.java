package dev.panda.vswitch;

/**
 * A control request the vswitch refused: an unknown bridge, a duplicate port, a device that would
 * not open. The message is one line for the operator; {@link #status()} is the HTTP status the
 * control API answers with (400 bad request, 404 unknown, 409 conflict, 500 failure).
 */
public final class VswitchException extends RuntimeException {

    private final int status;
    private final String field;

    public VswitchException(int status, String message) {
        this(status, message, (String) null);
    }

    /** @param field the request body's field the refusal is about ({@code ports[0].tag}), or null */
    public VswitchException(int status, String message, String field) {
        super(message);
        this.status = status;
        this.field = field;
    }

    public VswitchException(int status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.field = null;
    }

    public int status() {
        return status;
    }

    /** The field of the request body or config file this refusal names, or null. */
    public String field() {
        return field;
    }

    public static VswitchException badRequest(String m) {
        return new VswitchException(400, m);
    }

    public static VswitchException notFound(String m) {
        return new VswitchException(404, m);
    }

    public static VswitchException conflict(String m) {
        return new VswitchException(409, m);
    }
}
