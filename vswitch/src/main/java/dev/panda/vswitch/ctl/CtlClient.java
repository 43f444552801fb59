package dev.panda.vswitch.ctl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One HTTP/1.1 exchange over the control socket (or the vswitch's TCP control listener, with its
 * bearer token): the JDK's {@link SocketChannel} carries the bytes, Netty's HTTP codec (in an
 * {@link EmbeddedChannel}, no event loop) writes the request and parses the answer. One connection
 * per call, closed after it.
 */
public final class CtlClient {

    /** Largest answer read. */
    static final int MAX_ANSWER = 64 << 20;

    /** The answer: status, content type (or null) and body. */
    public record Answer(int status, String contentType, byte[] body) {
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** Nothing listens on the socket (no file, or a stale one). */
    public static final class NotRunningException extends IOException {
        NotRunningException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final Path socket;
    private final InetSocketAddress tcp;
    private final String token;
    private final Duration timeout;

    /** A client of the unix control socket. */
    public CtlClient(Path socket, Duration timeout) {
        this(socket, null, null, timeout);
    }

    private CtlClient(Path socket, InetSocketAddress tcp, String token, Duration timeout) {
        this.socket = socket;
        this.tcp = tcp;
        this.token = token;
        this.timeout = timeout;
    }

    /** A client of the TCP control listener; every request carries {@code Authorization: Bearer token}. */
    public static CtlClient tcp(InetSocketAddress address, String token, Duration timeout) {
        return new CtlClient(null, address, token, timeout);
    }

    /** The unix socket, or null for a TCP client. */
    public Path socket() {
        return socket;
    }

    /** The socket path, or {@code tcp:ADDR:PORT}. */
    public String where() {
        return socket != null ? socket.toString() : "tcp:" + tcp.getHostString() + ":" + tcp.getPort();
    }

    /**
     * @param body   null for none; sent as JSON
     * @param accept the Accept header, or null
     */
    public Answer call(String method, String uri, byte[] body, String accept) throws IOException {
        FullHttpRequest req = new DefaultFullHttpRequest(
                HttpVersion.HTTP_1_1,
                HttpMethod.valueOf(method),
                uri,
                body == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
        req.headers().set(HttpHeaderNames.HOST, "localhost");
        req.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        req.headers().set(HttpHeaderNames.USER_AGENT, "panda-ctl");
        if (accept != null) {
            req.headers().set(HttpHeaderNames.ACCEPT, accept);
        }
        if (token != null) {
            req.headers().set(HttpHeaderNames.AUTHORIZATION, "Bearer " + token);
        }
        if (body != null) {
            req.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        }
        HttpUtil.setContentLength(req, body == null ? 0 : body.length);

        EmbeddedChannel codec = new EmbeddedChannel(new HttpClientCodec(), new HttpObjectAggregator(MAX_ANSWER));
        try (SocketChannel ch = connect();
                Selector selector = Selector.open()) {
            codec.writeOutbound(req);
            IOException writeFailed = null;
            for (ByteBuf out; (out = codec.readOutbound()) != null; ) {
                try {
                    ByteBuffer nio = out.nioBuffer();
                    while (writeFailed == null && nio.hasRemaining()) {
                        ch.write(nio);
                    }
                } catch (IOException e) {
                    // the server may answer early and close (413 for a body too large): read that answer
                    writeFailed = e;
                } finally {
                    out.release();
                }
            }
            try {
                return read(ch, selector, codec);
            } catch (IOException e) {
                if (writeFailed != null) {
                    writeFailed.addSuppressed(e);
                    throw writeFailed;
                }
                throw e;
            }
        } finally {
            codec.finishAndReleaseAll();
        }
    }

    private SocketChannel connect() throws IOException {
        SocketChannel ch = socket != null ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
        try {
            if (socket != null) {
                ch.connect(UnixDomainSocketAddress.of(socket));
            } else {
                ch.socket().connect(tcp, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
            }
            return ch;
        } catch (IOException e) {
            ch.close();
            throw new NotRunningException(
                    "no vswitch listening on " + where() + " (" + e.getMessage() + "); start one with 'panda vswitch'",
                    e);
        }
    }

    private Answer read(SocketChannel ch, Selector selector, EmbeddedChannel codec) throws IOException {
        ch.configureBlocking(false);
        ch.register(selector, SelectionKey.OP_READ);
        long deadline = System.nanoTime() + timeout.toNanos();
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new IOException("no answer from the vswitch within " + timeout.toSeconds() + " s");
            }
            selector.select(Math.max(1, left / 1_000_000));
            selector.selectedKeys().clear();
            buf.clear();
            int n = ch.read(buf);
            if (n < 0) {
                codec.finish();
                FullHttpResponse res = codec.readInbound();
                if (res == null) {
                    throw new IOException("the vswitch closed the connection without an answer");
                }
                return answer(res);
            }
            if (n > 0) {
                buf.flip();
                codec.writeInbound(Unpooled.copiedBuffer(buf));
                FullHttpResponse res = codec.readInbound();
                if (res != null) {
                    return answer(res);
                }
            }
        }
    }

    private static Answer answer(FullHttpResponse res) throws IOException {
        try {
            if (res.decoderResult().isFailure()) {
                throw new IOException("malformed answer from the vswitch: "
                        + res.decoderResult().cause().getMessage());
            }
            return new Answer(
                    res.status().code(),
                    res.headers().get(HttpHeaderNames.CONTENT_TYPE),
                    ByteBufUtil.getBytes(res.content()));
        } finally {
            res.release();
        }
    }
}
