package dev.panda.vswitch.flow;

/**
 * OpenFlow 1.3 port numbers. A panda port's OpenFlow number is its data-path port id (1..255);
 * the reserved ports have OpenFlow's values (unsigned 32-bit, held in an {@code int}).
 */
public final class OfPort {

    /** Highest number of a physical port. */
    public static final int MAX = 0xffffff00;

    public static final int IN_PORT = 0xfffffff8;
    public static final int TABLE = 0xfffffff9;
    public static final int NORMAL = 0xfffffffa;
    public static final int FLOOD = 0xfffffffb;
    public static final int ALL = 0xfffffffc;
    public static final int CONTROLLER = 0xfffffffd;
    public static final int LOCAL = 0xfffffffe;
    /** "No port" / wildcard in filters (OFPP_ANY). */
    public static final int ANY = 0xffffffff;

    /** OFPG_ANY: the out_group wildcard. */
    public static final int GROUP_ANY = 0xffffffff;

    /** max_len of an output to CONTROLLER meaning "the whole packet, no buffering" (OFPCML_NO_BUFFER). */
    public static final int NO_BUFFER = 0xffff;

    private OfPort() {}

    /** The name ovs-ofctl prints: IN_PORT, CONTROLLER, ... or the number. */
    public static String name(int port) {
        return switch (port) {
            case IN_PORT -> "IN_PORT";
            case TABLE -> "TABLE";
            case NORMAL -> "NORMAL";
            case FLOOD -> "FLOOD";
            case ALL -> "ALL";
            case CONTROLLER -> "CONTROLLER";
            case LOCAL -> "LOCAL";
            case ANY -> "ANY";
            default -> Integer.toUnsignedString(port);
        };
    }

    /** Parses a name from {@link #name} (case-insensitive) or an unsigned number. */
    public static int parse(String s) {
        return switch (s.toUpperCase(java.util.Locale.ROOT)) {
            case "IN_PORT" -> IN_PORT;
            case "TABLE" -> TABLE;
            case "NORMAL" -> NORMAL;
            case "FLOOD" -> FLOOD;
            case "ALL" -> ALL;
            case "CONTROLLER" -> CONTROLLER;
            case "LOCAL" -> LOCAL;
            case "ANY" -> ANY;
            default -> Integer.parseUnsignedInt(s);
        };
    }

    /** True for a number a physical port may have (1..MAX). */
    public static boolean isPhysical(int port) {
        return port != 0 && Integer.compareUnsigned(port, MAX) <= 0;
    }
}
