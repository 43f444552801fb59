package dev.panda.vswitch.capture;

import dev.panda.vswitch.VswitchException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * What {@code capture start} asks for, checked: every refusal is a 400 naming the field.
 *
 * @param name     the capture's name and its directory under {@code <state-dir>/captures/}
 * @param port     the vswitch port whose frames it takes
 * @param dir      {@code rx}, {@code tx} or {@code both}
 * @param snaplen  bytes kept of each frame (1..262144, default 262144 as tcpdump)
 * @param filter   a tcpdump filter expression, or null for every frame
 * @param roll     how often the queue starts a new file: {@code 5min}, {@code 10min}, {@code 20min},
 *                 {@code 30min}, {@code hour} (default), {@code day}
 * @param maxBytes retention: older files are deleted while the files together exceed this (default 1 GiB)
 * @param maxAge   retention: files whose last write is older than this many seconds are deleted (default 86400)
 */
public record CaptureSpec(
        String name, String port, String dir, int snaplen, String filter, String roll, long maxBytes, long maxAge) {

    public static final int DEFAULT_SNAPLEN = CaptureRecord.MAX_FRAME;
    public static final long DEFAULT_MAX_BYTES = 1L << 30;
    public static final long DEFAULT_MAX_AGE = 86_400;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    public CaptureSpec {
        if (name == null || !NAME.matcher(name).matches() || name.equals(".") || name.equals("..")) {
            throw CaptureSpec.bad(
                    "name: '" + name + "' is not a capture name (letters, digits, '_', '.', '-'; 1..64)", "name");
        }
        if (port == null || port.isEmpty()) {
            throw CaptureSpec.bad("port: missing (the port to capture on)", "port");
        }
        dir = dir == null ? "both" : dir.toLowerCase(Locale.ROOT);
        if (!dir.equals("rx") && !dir.equals("tx") && !dir.equals("both")) {
            throw CaptureSpec.bad("dir: '" + dir + "' is not rx, tx or both", "dir");
        }
        if (snaplen == 0) {
            snaplen = DEFAULT_SNAPLEN;
        }
        if (snaplen < 1 || snaplen > CaptureRecord.MAX_FRAME) {
            throw CaptureSpec.bad(
                    "snaplen: " + snaplen + " is out of range (1.." + CaptureRecord.MAX_FRAME + ")", "snaplen");
        }
        if (filter != null && filter.isBlank()) {
            filter = null;
        }
        if (filter != null && (filter.length() > 4096 || filter.chars().anyMatch(c -> c < 0x20 && c != '\t'))) {
            throw CaptureSpec.bad("filter: longer than 4096 characters or with control characters", "filter");
        }
        roll = roll == null ? "hour" : roll;
        Rolls.cycle(roll); // checks
        if (maxBytes == 0) {
            maxBytes = DEFAULT_MAX_BYTES;
        }
        if (maxBytes < (1 << 20)) {
            throw CaptureSpec.bad("max-bytes: " + maxBytes + " is less than 1 MiB (1048576)", "max-bytes");
        }
        if (maxAge == 0) {
            maxAge = DEFAULT_MAX_AGE;
        }
        if (maxAge < 60) {
            throw CaptureSpec.bad("max-age: " + maxAge + " is less than 60 seconds", "max-age");
        }
    }

    static VswitchException bad(String message, String field) {
        return new VswitchException(400, message, field);
    }

    public boolean rx() {
        return !dir.equals("tx");
    }

    public boolean tx() {
        return !dir.equals("rx");
    }
}
