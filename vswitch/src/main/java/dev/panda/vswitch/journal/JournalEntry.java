package dev.panda.vswitch.journal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * One journal entry: a snapshot of the whole state or one change of a registered kind, with its
 * sequence number and a JSON payload. Encoded (little-endian) as
 *
 * <pre>
 *   u32  magic 'PJE1'
 *   u64  seq      (1, 2, 3, ... across the whole journal; a gap is corruption)
 *   u8   type     (1 snapshot, 2 change)
 *   u8   kind length (1..64), then the kind in ASCII ([a-z0-9-])
 *   u32  payload length (0..MAX_PAYLOAD), then the payload (UTF-8 JSON)
 *   u32  CRC-32C of every byte before it
 * </pre>
 *
 * Each entry is one Chronicle Queue excerpt; the CRC catches a torn or flipped byte that the
 * queue's own framing lets through.
 */
public record JournalEntry(long seq, Type type, String kind, byte[] payload) {

    public static final int MAGIC = 0x31454a50; // "PJE1" read little-endian
    public static final int MAX_PAYLOAD = 16 << 20;
    public static final int MAX_KIND = 64;
    /** The kind of every snapshot entry. */
    public static final String SNAPSHOT_KIND = "snapshot";

    static final int FIXED = 4 + 8 + 1 + 1 + 4 + 4;

    public enum Type {
        SNAPSHOT(1),
        CHANGE(2);

        final int code;

        Type(int code) {
            this.code = code;
        }
    }

    public JournalEntry {
        if (seq < 1) {
            throw new IllegalArgumentException("seq " + seq + " < 1");
        }
        if (type == null) {
            throw new IllegalArgumentException("no type");
        }
        if (!validKind(kind)) {
            throw new IllegalArgumentException("kind '" + kind + "' is not 1.." + MAX_KIND + " of [a-z0-9-]");
        }
        if (payload.length > MAX_PAYLOAD) {
            throw new IllegalArgumentException("payload of " + payload.length + " bytes > " + MAX_PAYLOAD);
        }
    }

    public static boolean validKind(String kind) {
        if (kind == null || kind.isEmpty() || kind.length() > MAX_KIND) {
            return false;
        }
        for (int i = 0; i < kind.length(); i++) {
            char c = kind.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-')) {
                return false;
            }
        }
        return true;
    }

    public byte[] encode() {
        byte[] k = kind.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(FIXED + k.length + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putLong(seq).put((byte) type.code).put((byte) k.length).put(k);
        b.putInt(payload.length).put(payload);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.array();
    }

    /**
     * The entry these bytes hold, exactly (no byte more or less).
     *
     * @throws JournalFormatException naming what is wrong
     */
    public static JournalEntry decode(byte[] bytes) throws JournalFormatException {
        if (bytes.length < FIXED) {
            throw new JournalFormatException(
                    JournalFormatException.Reason.TRUNCATED,
                    bytes.length + " bytes, fewer than the " + FIXED + " of an empty entry");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int magic = b.getInt();
        if (magic != MAGIC) {
            throw new JournalFormatException(
                    JournalFormatException.Reason.BAD_MAGIC, String.format("magic 0x%08x is not an entry's", magic));
        }
        long seq = b.getLong();
        int typeCode = b.get() & 0xff;
        int kindLength = b.get() & 0xff;
        if (kindLength < 1 || kindLength > MAX_KIND) {
            throw new JournalFormatException(
                    JournalFormatException.Reason.BAD_FIELD, "kind length " + kindLength + " not 1.." + MAX_KIND);
        }
        if (b.remaining() < kindLength + 8) {
            throw new JournalFormatException(
                    JournalFormatException.Reason.TRUNCATED, "entry ends inside its kind (" + bytes.length + " bytes)");
        }
        byte[] k = new byte[kindLength];
        b.get(k);
        long payloadLength = b.getInt() & 0xffffffffL;
        if (payloadLength > MAX_PAYLOAD) {
            throw new JournalFormatException(
                    JournalFormatException.Reason.BAD_FIELD, "payload length " + payloadLength + " > " + MAX_PAYLOAD);
        }
        if (b.remaining() < payloadLength + 4) {
            throw new JournalFormatException(
                    JournalFormatException.Reason.TRUNCATED,
                    "entry of " + bytes.length + " bytes ends inside its " + payloadLength + "-byte payload");
        }
        int end = b.position() + (int) payloadLength;
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, end);
        int stored =
                ByteBuffer.wrap(bytes, end, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (stored != (int) crc.getValue()) {
            throw new JournalFormatException(
                    JournalFormatException.Reason.BAD_CHECKSUM,
                    String.format("CRC-32C 0x%08x, stored 0x%08x", (int) crc.getValue(), stored));
        }
        if (end + 4 != bytes.length) {
            throw new JournalFormatException(
                    JournalFormatException.Reason.TRAILING_BYTES, (bytes.length - end - 4) + " bytes after the CRC");
        }
        Type type = switch (typeCode) {
            case 1 -> Type.SNAPSHOT;
            case 2 -> Type.CHANGE;
            default ->
                throw new JournalFormatException(
                        JournalFormatException.Reason.BAD_FIELD, "entry type " + typeCode + " not 1 or 2");
        };
        String kind = new String(k, StandardCharsets.US_ASCII);
        if (!validKind(kind)) {
            throw new JournalFormatException(JournalFormatException.Reason.BAD_FIELD, "kind is not [a-z0-9-]");
        }
        if (seq < 1) {
            throw new JournalFormatException(JournalFormatException.Reason.BAD_FIELD, "seq " + seq + " < 1");
        }
        return new JournalEntry(seq, type, kind, Arrays.copyOfRange(bytes, end - (int) payloadLength, end));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof JournalEntry e
                && e.seq == seq
                && e.type == type
                && e.kind.equals(kind)
                && Arrays.equals(e.payload, payload);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(seq) * 31 + kind.hashCode() * 7 + Arrays.hashCode(payload);
    }

    @Override
    public String toString() {
        return "#" + seq + " " + type.name().toLowerCase(java.util.Locale.ROOT) + " " + kind + " (" + payload.length
                + " bytes)";
    }
}
