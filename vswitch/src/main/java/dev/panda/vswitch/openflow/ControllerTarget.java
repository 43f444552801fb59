package dev.panda.vswitch.openflow;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * A controller target as ovs-vsctl's set-controller takes it: {@code ptcp:PORT[:ADDR]} (listen;
 * 127.0.0.1 unless an address is given; port 0 picks a free one) or {@code tcp:HOST:PORT}
 * (connect). IPv6 addresses go in brackets: {@code ptcp:6653:[::1]}, {@code tcp:[::1]:6653}.
 */
public record ControllerTarget(boolean passive, String host, int port) {

    public static final int DEFAULT_PORT = 6653;

    /** Parses {@code s}; refusals are {@link IllegalArgumentException}s with one line. */
    public static ControllerTarget parse(String s) {
        if (s == null || s.isBlank()) {
            throw new IllegalArgumentException("empty controller target (ptcp:PORT[:ADDR] or tcp:HOST:PORT)");
        }
        if (s.length() > 300) {
            throw new IllegalArgumentException("controller target longer than 300 characters");
        }
        if (s.startsWith("ptcp:")) {
            String rest = s.substring(5);
            int colon = rest.indexOf(':');
            String port = colon < 0 ? rest : rest.substring(0, colon);
            String addr = colon < 0 ? "127.0.0.1" : unbracket(rest.substring(colon + 1));
            return new ControllerTarget(true, literal(addr, s), port(port.isEmpty() ? "6653" : port, s, true));
        }
        if (s.startsWith("tcp:")) {
            String rest = s.substring(4);
            int colon = rest.lastIndexOf(':');
            if (rest.startsWith("[")) {
                int close = rest.indexOf(']');
                if (close < 0) {
                    throw new IllegalArgumentException("'" + s + "': unclosed [ in the address");
                }
                colon = rest.indexOf(':', close);
            }
            String host = colon < 0 ? rest : rest.substring(0, colon);
            String port = colon < 0 ? String.valueOf(DEFAULT_PORT) : rest.substring(colon + 1);
            host = unbracket(host);
            if (host.isEmpty()) {
                throw new IllegalArgumentException("'" + s + "': no host (tcp:HOST:PORT)");
            }
            return new ControllerTarget(false, literal(host, s), port(port, s, false));
        }
        throw new IllegalArgumentException(
                "'" + s + "' is not a controller target: ptcp:PORT[:ADDR] (listen) or tcp:HOST:PORT (connect)");
    }

    private static String unbracket(String a) {
        return a.startsWith("[") && a.endsWith("]") ? a.substring(1, a.length() - 1) : a;
    }

    /** Only IP literals: a name would need a resolver at set-controller time. */
    private static String literal(String a, String s) {
        boolean v4 = a.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}");
        boolean v6 = a.contains(":") && a.matches("[0-9a-fA-F:.]+");
        if (!v4 && !v6) {
            throw new IllegalArgumentException("'" + s + "': '" + a + "' is not an IP address");
        }
        try {
            String h = InetAddress.getByName(a).getHostAddress();
            return v6 ? a.toLowerCase(java.util.Locale.ROOT) : h; // IPv6 as written (::1, not 0:0:...:1)
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + s + "': '" + a + "' is not an IP address");
        }
    }

    private static int port(String p, String s, boolean zeroOk) {
        try {
            int v = Integer.parseInt(p);
            if (v >= (zeroOk ? 0 : 1) && v <= 65535) {
                return v;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException("'" + s + "': port '" + p + "' is not " + (zeroOk ? "0" : "1") + "..65535");
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(host, port);
    }

    @Override
    public String toString() {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return passive ? "ptcp:" + port + (host.equals("127.0.0.1") ? "" : ":" + h) : "tcp:" + h + ":" + port;
    }
}
