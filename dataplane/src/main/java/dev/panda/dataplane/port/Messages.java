package dev.panda.dataplane.port;

/** Error text built from user input: one line, whatever the input holds. */
public final class Messages {

    private Messages() {}

    /** {@code s} with control characters (newline, NUL, escape...) replaced by '?'. */
    public static String oneLine(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return b.toString();
    }
}
