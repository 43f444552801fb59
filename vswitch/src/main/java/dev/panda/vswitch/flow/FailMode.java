package dev.panda.vswitch.flow;

/**
 * What a bridge does with a packet no flow matches while no controller is connected, as OVS's
 * fail-mode: {@code standalone} forwards it as the learning bridge would (NORMAL), {@code secure}
 * drops it. With a controller connected a table-miss always drops (OpenFlow 1.3), unless a
 * table-miss flow says otherwise.
 */
public enum FailMode {
    STANDALONE,
    SECURE;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Parses {@code secure} or {@code standalone}; IllegalArgumentException naming them otherwise. */
    public static FailMode parse(String s) {
        return switch (s == null ? "" : s.toLowerCase(java.util.Locale.ROOT)) {
            case "secure" -> SECURE;
            case "standalone" -> STANDALONE;
            default -> throw new IllegalArgumentException("fail-mode must be secure or standalone, got " + s);
        };
    }
}
