package dev.panda.vswitch.journal;

/**
 * Bytes that are not a whole journal entry: the typed error of {@link JournalEntry#decode(byte[])}.
 * Its message is one line and names what is wrong.
 */
public final class JournalFormatException extends Exception {

    /** What made the bytes unreadable. */
    public enum Reason {
        /** fewer bytes than the fixed part, or than the lengths inside say */
        TRUNCATED,
        /** the first four bytes are not the entry magic */
        BAD_MAGIC,
        /** an entry type, kind or length out of range */
        BAD_FIELD,
        /** the CRC-32C at the end does not match the bytes before it */
        BAD_CHECKSUM,
        /** bytes after the checksum */
        TRAILING_BYTES
    }

    private final Reason reason;

    public JournalFormatException(Reason reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
