package dev.panda.dataplane.port;

/**
 * A device string that cannot be opened. The message is one line for the user; device strings
 * come from users and config files, so control characters quoted in it (a newline or NUL in a
 * path) are replaced and the line stays one line.
 */
public final class DeviceException extends RuntimeException {

    public DeviceException(String message) {
        super(Messages.oneLine(message));
    }

    public DeviceException(String message, Throwable cause) {
        super(Messages.oneLine(message), cause);
    }
}
