package dev.panda.dataplane.testpmd;

/** A command-line mistake: the message is one line for the user, and the process exits with 2. */
public final class UsageException extends RuntimeException {

    public static final int EXIT_CODE = 2;

    public UsageException(String message) {
        super(message);
    }
}
