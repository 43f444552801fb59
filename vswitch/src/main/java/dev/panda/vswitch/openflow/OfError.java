package dev.panda.vswitch.openflow;

/**
 * A refused message: the OFPT_ERROR type and code the peer gets back (with the first 64 bytes of
 * what it sent), and a line for the log.
 */
public final class OfError extends Exception {

    private final int type;
    private final int code;

    public OfError(int type, int code, String message) {
        super(message, null, false, false);
        this.type = type;
        this.code = code;
    }

    public int type() {
        return type;
    }

    public int code() {
        return code;
    }

    public static OfError badLen(String what) {
        return new OfError(Of.ET_BAD_REQUEST, Of.BRC_BAD_LEN, what);
    }

    public static OfError badType(String what) {
        return new OfError(Of.ET_BAD_REQUEST, Of.BRC_BAD_TYPE, what);
    }

    @Override
    public String toString() {
        return "OfError(" + type + "," + code + "): " + getMessage();
    }
}
