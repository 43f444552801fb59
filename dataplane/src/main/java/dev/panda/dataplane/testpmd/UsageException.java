package dev.panda.dataplane.testpmd;

/**
 * A command-line mistake: the message is one line for the user, and the process exits with 2.
 * Arguments quoted in the message are user input, so control characters (a newline in an
 * argument, an escape sequence) are replaced and the line stays one line.
 */
public final class UsageException extends RuntimeException {

    public static final int EXIT_CODE = 2;

    public UsageException(String message) {
        super(oneLine(message));
    }

    private static String oneLine(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return b.toString();
    }
}
