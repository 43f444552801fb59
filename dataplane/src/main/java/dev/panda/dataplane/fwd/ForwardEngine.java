package dev.panda.dataplane.fwd;

/**
 * A forwarding mode, as in testpmd: an optional begin/end and one {@code forward(stream)} that
 * moves at most one burst. One instance runs per stream, on that stream's lcore, so an engine may
 * keep per-stream state in fields.
 */
public interface ForwardEngine {

    /** Called on the lcore before the first pass. */
    default void begin(FwdStream stream) {}

    /** One pass: receive and/or generate a burst and send it. Returns packets handled. */
    int forward(FwdStream stream);

    /** Called on the lcore after the last pass. */
    default void end(FwdStream stream) {}
}
