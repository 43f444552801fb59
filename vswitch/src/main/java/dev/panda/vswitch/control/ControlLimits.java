package dev.panda.vswitch.control;

import java.time.Duration;

/**
 * Bounds on what one control client may ask of the server. Each listener (the unix socket, the
 * TCP listener) has its own connection budget, so a flood on one leaves the other usable.
 *
 * @param maxInitialLine  longest request line ({@code GET /v1/show HTTP/1.1}); longer: 414
 * @param maxHeaderBytes  most bytes of header fields in one request; more: 431
 * @param maxHeaders      most header fields in one request; more: 431
 * @param maxBody         largest request body; larger: 413
 * @param maxConnections  open connections per listener; one more is closed at once
 * @param maxPipelined    requests a client may send ahead of its answers; more: connection closed
 * @param maxQueuedBytes  request bytes (bodies and request targets) a connection may have received
 *                        and not yet answered; beyond it the server stops reading the connection
 *                        until answers go out, so the client's writes stall (at most one request
 *                        more than this is held)
 * @param requestTimeout  a request (line, headers and body) must arrive whole within this from its
 *                        first byte, and a new connection must deliver its first request within
 *                        it; otherwise 408 and the connection is closed. Answers must also be
 *                        taken by the client within it
 * @param idleTimeout     a connection with nothing in flight that sends nothing for this long is
 *                        closed
 */
public record ControlLimits(
        int maxInitialLine,
        int maxHeaderBytes,
        int maxHeaders,
        int maxBody,
        int maxConnections,
        int maxPipelined,
        int maxQueuedBytes,
        Duration requestTimeout,
        Duration idleTimeout) {

    public static final ControlLimits DEFAULT = new ControlLimits(
            4096, 8192, 64, 1 << 20, 64, 64, 256 << 10, Duration.ofSeconds(10), Duration.ofSeconds(60));

    public ControlLimits {
        if (maxInitialLine < 64
                || maxHeaderBytes < 256
                || maxHeaders < 4
                || maxBody < 0
                || maxConnections < 1
                || maxPipelined < 1
                || maxQueuedBytes < 0
                || requestTimeout.isNegative()
                || requestTimeout.isZero()
                || idleTimeout.isNegative()
                || idleTimeout.isZero()) {
            throw new IllegalArgumentException("control limits out of range: " + this);
        }
    }

    public ControlLimits withRequestTimeout(Duration d) {
        return new ControlLimits(
                maxInitialLine,
                maxHeaderBytes,
                maxHeaders,
                maxBody,
                maxConnections,
                maxPipelined,
                maxQueuedBytes,
                d,
                idleTimeout);
    }

    public ControlLimits withMaxConnections(int n) {
        return new ControlLimits(
                maxInitialLine,
                maxHeaderBytes,
                maxHeaders,
                maxBody,
                n,
                maxPipelined,
                maxQueuedBytes,
                requestTimeout,
                idleTimeout);
    }

    public ControlLimits withMaxQueuedBytes(int n) {
        return new ControlLimits(
                maxInitialLine,
                maxHeaderBytes,
                maxHeaders,
                maxBody,
                maxConnections,
                maxPipelined,
                n,
                requestTimeout,
                idleTimeout);
    }
}
