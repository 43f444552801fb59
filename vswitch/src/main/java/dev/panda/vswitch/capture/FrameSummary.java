package dev.panda.vswitch.capture;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * One line per captured frame, in tcpdump's manner: time (UTC, nanoseconds), port, direction,
 * link addresses, then what the frame carries (802.1Q tag, ARP, IPv4 with ICMP/UDP/TCP ports, IPv6).
 * Reads only the bytes the record holds.
 */
public final class FrameSummary {

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);

    private FrameSummary() {}

    public static String line(CaptureRecord r, String port) {
        byte[] b = r.buffer;
        int o = CaptureRecord.HEADER;
        int n = r.capturedLength;
        StringBuilder sb = new StringBuilder(128);
        long ts = r.timestampNanos;
        sb.append(TIME.format(Instant.ofEpochSecond(ts / 1_000_000_000L)))
                .append('.')
                .append(String.format("%09d", ts % 1_000_000_000L));
        sb.append(' ').append(port).append(' ').append(CaptureRecord.directionName(r.direction));
        if (n < 14) {
            return sb.append(" truncated frame, length ")
                    .append(r.originalLength)
                    .toString();
        }
        sb.append(' ').append(mac(b, o + 6)).append(" > ").append(mac(b, o));
        int type = u16(b, o + 12);
        int p = o + 14;
        if (type == 0x8100 && n >= 18) {
            sb.append(", vlan ").append(u16(b, o + 14) & 0xfff);
            type = u16(b, o + 16);
            p = o + 18;
        }
        int end = o + n;
        if (type == 0x0800 && end - p >= 20) {
            int ihl = (b[p] & 0xf) * 4;
            int proto = b[p + 9] & 0xff;
            String src = ip4(b, p + 12);
            String dst = ip4(b, p + 16);
            int l4 = p + ihl;
            sb.append(", IPv4 ");
            if (proto == 1 && end - l4 >= 1) {
                int t = b[l4] & 0xff;
                sb.append(src).append(" > ").append(dst).append(": ICMP ");
                sb.append(t == 8 ? "echo request" : t == 0 ? "echo reply" : "type " + t);
            } else if ((proto == 17 || proto == 6) && end - l4 >= 4) {
                sb.append(src)
                        .append('.')
                        .append(u16(b, l4))
                        .append(" > ")
                        .append(dst)
                        .append('.')
                        .append(u16(b, l4 + 2))
                        .append(proto == 17 ? ": UDP" : ": TCP");
            } else {
                sb.append(src).append(" > ").append(dst).append(": proto ").append(proto);
            }
        } else if (type == 0x0806) {
            sb.append(", ARP");
        } else if (type == 0x86dd) {
            sb.append(", IPv6");
        } else {
            sb.append(", ethertype 0x").append(String.format("%04x", type));
        }
        return sb.append(", length ").append(r.originalLength).toString();
    }

    private static int u16(byte[] b, int o) {
        return ((b[o] & 0xff) << 8) | (b[o + 1] & 0xff);
    }

    private static String ip4(byte[] b, int o) {
        return (b[o] & 0xff) + "." + (b[o + 1] & 0xff) + "." + (b[o + 2] & 0xff) + "." + (b[o + 3] & 0xff);
    }

    private static String mac(byte[] b, int o) {
        return String.format("%02x:%02x:%02x:%02x:%02x:%02x", b[o], b[o + 1], b[o + 2], b[o + 3], b[o + 4], b[o + 5]);
    }
}
