package dev.panda.vswitch.control;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * How the control API's and the metrics listener's aggregators answer an {@code Expect} header
 * (their {@code HttpObjectAggregator.newContinueResponse}), so that every answer goes through the
 * connection's own handler, in request order and counted: an expectation other than {@code
 * 100-continue} marks the request failed with the listener's own refusal (its handler answers 417);
 * {@code 100 Continue} goes out only when a body follows, it fits, and nothing earlier on the
 * connection is in flight or queued (else it is left out, as RFC 9110, 10.1.1 lets a server do).
 */
public final class ExpectContinue {

    private ExpectContinue() {}

    /**
     * @param idle        whether the connection has no request in flight or queued
     * @param unsupported the refusal a request with another expectation carries to the handler
     * @return the {@code 100 Continue} to send, or null
     */
    public static Object answer(
            HttpMessage start, int maxContentLength, BooleanSupplier idle, Function<String, Throwable> unsupported) {
        if (!start.decoderResult().isSuccess()) {
            return null; // answered for what is wrong with it; no 100 first
        }
        String expect = start.headers().get(HttpHeaderNames.EXPECT);
        if (expect == null || start.protocolVersion().compareTo(HttpVersion.HTTP_1_1) < 0) {
            return null; // HTTP/1.0 expectations are ignored (RFC 9110, 10.1.1)
        }
        boolean continueExpected = HttpUtil.is100ContinueExpected(start);
        start.headers().remove(HttpHeaderNames.EXPECT);
        if (!continueExpected) {
            start.setDecoderResult(DecoderResult.failure(unsupported.apply(expect)));
            return null;
        }
        if (!HttpUtil.isTransferEncodingChunked(start) && HttpUtil.getContentLength(start, 0L) <= 0) {
            return null; // no body to wait for: the answer itself follows
        }
        if (HttpUtil.getContentLength(start, -1L) > maxContentLength || !idle.getAsBoolean()) {
            return null; // too large: a 413 follows; busy: no 100 out of turn
        }
        return new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE, Unpooled.EMPTY_BUFFER);
    }
}
