package dev.panda.vswitch.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The Prometheus {@code /metrics} listener: off unless {@code listen} is given.
 *
 * @param listen {@code ADDR:PORT} as written ({@code 127.0.0.1:9464}, {@code [::1]:9464}; port 0
 *               picks a free port); null: no listener
 */
public record MetricsConfig(String listen) {

    /** The default port of a Prometheus exporter ({@code --metrics 127.0.0.1:9464}). */
    public static final int DEFAULT_PORT = 9464;

    public MetricsConfig {
        if (listen != null) {
            parseListen(listen); // refuse a bad address at construction, whoever builds it
        }
    }

    public static MetricsConfig off() {
        return new MetricsConfig(null);
    }

    public boolean enabled() {
        return listen != null;
    }

    /** The socket address to bind; call only when {@link #enabled()}. */
    public InetSocketAddress address() {
        return parseListen(listen);
    }

    /**
     * {@code ADDR:PORT}: an IPv4 literal, or an IPv6 literal in brackets, and a port 0..65535. No
     * name is looked up (a name in a config file would make the listener depend on DNS).
     *
     * @throws IllegalArgumentException with a one-line message
     */
    public static InetSocketAddress parseListen(String text) {
        String bad = ConfigFilesReader.quote(String.valueOf(text))
                + " is not ADDR:PORT (an IP address and a port, e.g. 127.0.0.1:" + DEFAULT_PORT + " or [::1]:"
                + DEFAULT_PORT + ")";
        if (text == null) {
            throw new IllegalArgumentException(bad);
        }
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException(bad);
        }
        String host = text.substring(0, colon);
        String port = text.substring(colon + 1);
        if (host.startsWith("[") && host.endsWith("]") && host.length() > 2) {
            host = host.substring(1, host.length() - 1);
            if (!host.contains(":")) {
                throw new IllegalArgumentException(bad);
            }
        } else if (host.contains(":") || !host.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) {
            throw new IllegalArgumentException(bad);
        }
        if (port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException(bad);
        }
        int p = Integer.parseInt(port);
        if (p > 65535) {
            throw new IllegalArgumentException(bad);
        }
        InetAddress addr;
        try {
            addr = InetAddress.ofLiteral(host);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(bad);
        }
        return new InetSocketAddress(addr, p);
    }
}
