package dev.panda.dataplane.port;

/** A device string that cannot be opened; the message is one line for the user. */
public final class DeviceException extends RuntimeException {

    public DeviceException(String message) {
        super(message);
    }

    public DeviceException(String message, Throwable cause) {
        super(message, cause);
    }
}
