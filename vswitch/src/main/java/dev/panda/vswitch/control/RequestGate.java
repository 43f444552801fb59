package dev.panda.vswitch.control;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;

/**
 * After the HTTP codec, before the body is aggregated: checks each request's head. On the TCP
 * listener a request without the right {@code Authorization: Bearer} token is marked 401 (even a
 * malformed one: an unauthenticated client learns nothing else); a request with more than the
 * allowed header fields is marked 431. A marked request reaches {@link ControlHandler} as a failed
 * decode, which answers the status and closes; its body is discarded unread by the aggregator.
 */
final class RequestGate extends ChannelInboundHandlerAdapter {

    /** Why a request was refused before routing, with its status. */
    static final class Refusal extends Exception {
        final int status;

        Refusal(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    private final int maxHeaders;
    private final ControlToken token;
    private final ControlServer.Counters counters;

    /** @param token null: no authentication (the unix socket, guarded by its file mode) */
    RequestGate(int maxHeaders, ControlToken token, ControlServer.Counters counters) {
        this.maxHeaders = maxHeaders;
        this.token = token;
        this.counters = counters;
    }

    /** Marks the request refused; no {@code 100 Continue} goes out for it first. */
    private static void refuse(HttpRequest req, Refusal r) {
        req.headers().remove(HttpHeaderNames.EXPECT);
        req.setDecoderResult(DecoderResult.failure(r));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest req) {
            if (token != null && !token.matches(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
                counters.countUnauthorized();
                refuse(req, new Refusal(401, "unauthorized: this listener needs 'Authorization: Bearer TOKEN'"));
            } else if (req.decoderResult().isSuccess() && req.headers().size() > maxHeaders) {
                refuse(req, new Refusal(431, "more than " + maxHeaders + " header fields"));
            }
        }
        super.channelRead(ctx, msg);
    }
}
