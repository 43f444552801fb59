package dev.panda.dataplane.ports.pcap;

import dev.panda.dataplane.port.DeviceException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The libpcap file format (draft-ietf-opsawg-pcap, section 4 and 5).
 *
 * <pre>
 * file header, 24 bytes            record header, 16 bytes, then caplen bytes of packet
 *   0 magic        u32               0 ts_sec           u32
 *   4 version      u16 major, minor  4 ts_usec/ts_nsec  u32
 *   8 thiszone     i32 (0)           8 caplen           u32  bytes stored in the file
 *  12 sigfigs      u32 (0)          12 len              u32  bytes on the wire
 *  16 snaplen      u32
 *  20 linktype     u32 (low 16 bits; upper bits carry FCS information)
 * </pre>
 *
 * The magic tells the byte order of every other field (the writer's native order) and whether
 * the second timestamp word counts microseconds or nanoseconds.
 */
public final class PcapFormat {

    public static final int MAGIC_MICROS = 0xa1b2c3d4;
    public static final int MAGIC_NANOS = 0xa1b23c4d;
    /** pcapng's section header block type, recognised only to say what to do about it. */
    static final int PCAPNG_SHB = 0x0a0d0d0a;

    public static final int FILE_HEADER_BYTES = 24;
    public static final int RECORD_HEADER_BYTES = 16;
    public static final int VERSION_MAJOR = 2;
    public static final int VERSION_MINOR = 4;
    public static final int LINKTYPE_ETHERNET = 1;

    /** Snap length of files panda writes (what tcpdump -s 65535 writes). */
    public static final int WRITE_SNAPLEN = 65535;
    /**
     * Largest record accepted whatever the file's snaplen says: libpcap's own ceiling
     * (MAXIMUM_SNAPLEN). A bigger caplen is a corrupt header, not a big packet.
     */
    public static final int MAX_SNAPLEN = 262144;

    static final long OFF_MAGIC = 0;
    static final long OFF_VERSION_MAJOR = 4;
    static final long OFF_VERSION_MINOR = 6;
    static final long OFF_SNAPLEN = 16;
    static final long OFF_LINKTYPE = 20;
    static final long OFF_TS_SEC = 0;
    static final long OFF_TS_FRAC = 4;
    static final long OFF_CAPLEN = 8;
    static final long OFF_LEN = 12;

    /** Bits 16..25 of the linktype word are reserved (zero); bits 26..31 say FCS presence/length. */
    private static final int LINKTYPE_MASK = 0x0000ffff;

    private static final int RESERVED_MASK = 0x03ff0000;

    private PcapFormat() {}

    /** What the file header of a capture says. */
    public record FileHeader(ByteOrder order, boolean nanos, int snaplen, int linktype) {

        /** The ints of this file's records. */
        public ValueLayout.OfInt intLayout() {
            return ValueLayout.JAVA_INT_UNALIGNED.withOrder(order);
        }
    }

    /**
     * Reads and checks the file header of {@code file}; {@code source} names the file in errors.
     *
     * @throws DeviceException when it is not a libpcap file of Ethernet frames
     */
    public static FileHeader parseHeader(MemorySegment file, String source) {
        long size = file.byteSize();
        if (size == 0) {
            throw new DeviceException(source + " is empty (0 bytes): not a pcap file");
        }
        if (size < FILE_HEADER_BYTES) {
            throw new DeviceException(source + " is " + size + " bytes, shorter than a pcap file header ("
                    + FILE_HEADER_BYTES + " bytes): truncated or not a pcap file");
        }
        int le = file.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), OFF_MAGIC);
        ByteOrder order;
        boolean nanos;
        if (le == MAGIC_MICROS || le == MAGIC_NANOS) {
            order = ByteOrder.LITTLE_ENDIAN;
            nanos = le == MAGIC_NANOS;
        } else if (Integer.reverseBytes(le) == MAGIC_MICROS || Integer.reverseBytes(le) == MAGIC_NANOS) {
            order = ByteOrder.BIG_ENDIAN;
            nanos = Integer.reverseBytes(le) == MAGIC_NANOS;
        } else if (le == PCAPNG_SHB) {
            throw new DeviceException(source + " is a pcapng file; net_pcap reads libpcap files: convert it with"
                    + " 'editcap -F pcap IN.pcapng OUT.pcap' or 'tcpdump -r IN.pcapng -w OUT.pcap'");
        } else {
            throw new DeviceException(source + " is not a pcap file: magic 0x" + Integer.toHexString(le)
                    + " (little-endian read), expected a1b2c3d4 or a1b23c4d in either byte order");
        }
        ValueLayout.OfShort u16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(order);
        ValueLayout.OfInt u32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(order);
        int major = Short.toUnsignedInt(file.get(u16, OFF_VERSION_MAJOR));
        int minor = Short.toUnsignedInt(file.get(u16, OFF_VERSION_MINOR));
        if (major != VERSION_MAJOR) {
            throw new DeviceException(
                    source + " has pcap version " + major + "." + minor + ", net_pcap reads version 2.x");
        }
        int word = file.get(u32, OFF_LINKTYPE);
        int linktype = word & LINKTYPE_MASK;
        if (linktype != LINKTYPE_ETHERNET || (word & RESERVED_MASK) != 0) {
            throw new DeviceException(source + " has linktype " + linktype + " (" + linktypeName(linktype)
                    + (word != linktype ? ", header word 0x" + Integer.toHexString(word) : "")
                    + "); net_pcap replays Ethernet captures only (LINKTYPE_ETHERNET = 1)");
        }
        long snap = Integer.toUnsignedLong(file.get(u32, OFF_SNAPLEN));
        // As libpcap does: a zero or oversized snaplen means "no limit" (its maximum).
        int snaplen = snap == 0 || snap > MAX_SNAPLEN ? MAX_SNAPLEN : (int) snap;
        return new FileHeader(order, nanos, snaplen, linktype);
    }

    /** A few well-known link types, so the error says what the file holds. */
    static String linktypeName(int linktype) {
        return switch (linktype) {
            case 0 -> "LINKTYPE_NULL, BSD loopback";
            case 1 -> "LINKTYPE_ETHERNET";
            case 101 -> "LINKTYPE_RAW, raw IP";
            case 105 -> "LINKTYPE_IEEE802_11, Wi-Fi";
            case 113 -> "LINKTYPE_LINUX_SLL, Linux cooked capture (tcpdump -i any)";
            case 127 -> "LINKTYPE_IEEE802_11_RADIOTAP";
            case 228 -> "LINKTYPE_IPV4";
            case 229 -> "LINKTYPE_IPV6";
            case 276 -> "LINKTYPE_LINUX_SLL2, Linux cooked capture v2 (tcpdump -i any)";
            default -> "not Ethernet";
        };
    }

    /** Writes a microsecond, native-order, v2.4 Ethernet file header at {@code off}. */
    public static void writeFileHeader(MemorySegment dst, long off, int snaplen) {
        ValueLayout.OfInt u32 = ValueLayout.JAVA_INT_UNALIGNED;
        ValueLayout.OfShort u16 = ValueLayout.JAVA_SHORT_UNALIGNED;
        dst.set(u32, off + OFF_MAGIC, MAGIC_MICROS);
        dst.set(u16, off + OFF_VERSION_MAJOR, (short) VERSION_MAJOR);
        dst.set(u16, off + OFF_VERSION_MINOR, (short) VERSION_MINOR);
        dst.set(u32, off + 8, 0); // thiszone: UTC
        dst.set(u32, off + 12, 0); // sigfigs: always 0
        dst.set(u32, off + OFF_SNAPLEN, snaplen);
        dst.set(u32, off + OFF_LINKTYPE, LINKTYPE_ETHERNET);
    }

    /** Writes a native-order record header at {@code off}. */
    public static void writeRecordHeader(MemorySegment dst, long off, int tsSec, int tsFrac, int caplen, int len) {
        ValueLayout.OfInt u32 = ValueLayout.JAVA_INT_UNALIGNED;
        dst.set(u32, off + OFF_TS_SEC, tsSec);
        dst.set(u32, off + OFF_TS_FRAC, tsFrac);
        dst.set(u32, off + OFF_CAPLEN, caplen);
        dst.set(u32, off + OFF_LEN, len);
    }
}
