package dev.panda.dataplane.port;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A parsed DPDK-style device string: {@code NAME[,key=value]...}, e.g.
 * {@code net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap}.
 *
 * <p>Device strings come from users and config files, so every error names what is wrong and
 * what would be accepted.
 */
public final class DeviceSpec {

    /** Longest device string accepted; far above any real one. */
    public static final int MAX_LENGTH = 4096;

    private final String text;
    private final String name;
    private final Map<String, String> args;

    private DeviceSpec(String text, String name, Map<String, String> args) {
        this.text = text;
        this.name = name;
        this.args = args;
    }

    public static DeviceSpec parse(String text) {
        if (text == null || text.isBlank()) {
            throw new DeviceException("empty device string: expected NAME[,key=value...], e.g. net_ring0");
        }
        if (text.length() > MAX_LENGTH) {
            throw new DeviceException("device string longer than " + MAX_LENGTH + " characters");
        }
        String[] parts = text.split(",", -1);
        String name = parts[0].trim();
        if (!isIdentifier(name, false)) {
            throw new DeviceException("invalid device name '" + printable(name) + "' in '" + printable(text)
                    + "': expected letters, digits and '_', e.g. net_ring0");
        }
        Map<String, String> args = new LinkedHashMap<>();
        for (int i = 1; i < parts.length; i++) {
            String kv = parts[i];
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new DeviceException(
                        "invalid argument '" + printable(kv) + "' in device '" + name + "': expected key=value");
            }
            String key = kv.substring(0, eq).trim();
            String value = kv.substring(eq + 1).trim();
            if (!isIdentifier(key, true)) {
                throw new DeviceException("invalid key '" + printable(key) + "' in device '" + name + "'");
            }
            if (args.putIfAbsent(key, value) != null) {
                throw new DeviceException("key '" + key + "' given twice in device '" + name + "'");
            }
        }
        return new DeviceSpec(text, name, Collections.unmodifiableMap(args));
    }

    /** Letters, digits and '_' (and '-' inside keys, as in DPDK's {@code no-rx}); no leading digit. */
    private static boolean isIdentifier(String s, boolean dash) {
        if (s.isEmpty() || s.length() > 64) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z')
                    || (c >= 'A' && c <= 'Z')
                    || c == '_'
                    || (i > 0 && c >= '0' && c <= '9')
                    || (i > 0 && dash && c == '-');
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** At most 80 characters of {@code s} for an error line. */
    static String printable(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }

    public String text() {
        return text;
    }

    public String name() {
        return name;
    }

    public Map<String, String> args() {
        return args;
    }

    /** Fails unless every key is one of {@code accepted}. */
    public void requireKnownKeys(String driver, Set<String> accepted) {
        for (String k : args.keySet()) {
            if (!accepted.contains(k)) {
                throw new DeviceException("unknown key '" + k + "' for " + driver + " device '" + name
                        + "': " + driver + " accepts "
                        + (accepted.isEmpty() ? "no keys" : String.join(", ", new TreeSet<>(accepted))));
            }
        }
    }

    public String get(String key) {
        return args.get(key);
    }

    public String get(String key, String def) {
        return args.getOrDefault(key, def);
    }

    /** The value of {@code key}, which must be given and not empty; the error shows {@code example}. */
    public String require(String key, String example) {
        String v = args.get(key);
        if (v == null || v.isEmpty()) {
            throw new DeviceException(name + ": " + key + "= is required (e.g. " + key + "=" + example + ")");
        }
        return v;
    }

    /** A unicast MAC such as {@code 02:00:00:00:00:01} as a 48-bit value, or {@code def} when absent. */
    public long getMac(String key, long def) {
        String v = args.get(key);
        if (v == null) {
            return def;
        }
        try {
            byte[] b = java.util.HexFormat.ofDelimiter(":").parseHex(v);
            if (b.length == 6 && (b[0] & 1) == 0) {
                return macValue(b);
            }
        } catch (IllegalArgumentException e) {
            // reported below
        }
        throw new DeviceException(
                name + ": " + key + "=" + printable(v) + " is not a unicast MAC like 02:00:00:00:00:01");
    }

    /** Bytes of a MAC, first byte most significant, as a 48-bit value. */
    static long macValue(byte[] b) {
        long m = 0;
        for (byte x : b) {
            m = m << 8 | (x & 0xff);
        }
        return m;
    }

    public int getInt(String key, int def, int min, int max) {
        String v = args.get(key);
        if (v == null) {
            return def;
        }
        try {
            int n = Integer.decode(v);
            if (n < min || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new DeviceException("invalid " + key + "=" + printable(v) + " for device '" + name
                    + "': expected an integer " + min + ".." + max);
        }
    }

    public boolean getBool(String key, boolean def) {
        String v = args.get(key);
        if (v == null) {
            return def;
        }
        return switch (v.toLowerCase(java.util.Locale.ROOT)) {
            case "1", "true", "yes", "on" -> true;
            case "0", "false", "no", "off" -> false;
            default ->
                throw new DeviceException(
                        "invalid " + key + "=" + printable(v) + " for device '" + name + "': expected 0 or 1");
        };
    }

    @Override
    public String toString() {
        return text;
    }
}
