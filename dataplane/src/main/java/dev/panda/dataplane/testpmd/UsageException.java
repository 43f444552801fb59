package dev.panda.dataplane.testpmd;

import dev.panda.dataplane.port.Messages;

/**
 * A command-line mistake: the message is one line for the user, and the process exits with 2.
 * Arguments quoted in the message are user input, so control characters (a newline in an
 * argument, an escape sequence) are replaced and the line stays one line.
 */
public final class UsageException extends RuntimeException {

    public static final int EXIT_CODE = 2;

    public UsageException(String message) {
        super(Messages.oneLine(message));
    }
}
