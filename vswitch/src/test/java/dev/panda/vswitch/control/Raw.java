package dev.panda.vswitch.control;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/** A raw client connection for the control server tests: bytes out, bytes in until the server closes. */
final class Raw implements AutoCloseable {

    /** What came back: the text, whether the server closed, and when (ms since this connection opened). */
    record Result(String text, boolean closed, long closedAfterMillis) {
        int status() {
            return text.startsWith("HTTP/1.1 ") ? Integer.parseInt(text.substring(9, 12)) : -1;
        }
    }

    final SocketChannel ch;
    final long openedNanos = System.nanoTime();

    private Raw(SocketChannel ch) {
        this.ch = ch;
    }

    static Raw unix(Path socket) throws IOException {
        return new Raw(SocketChannel.open(UnixDomainSocketAddress.of(socket)));
    }

    static Raw tcp(InetSocketAddress address) throws IOException {
        return new Raw(SocketChannel.open(address));
    }

    static Raw open(Object where) throws IOException {
        return where instanceof Path p ? unix(p) : tcp((InetSocketAddress) where);
    }

    /** Sends {@code s} (ISO-8859-1); false if the server has closed the connection. */
    boolean send(String s) {
        return send(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    boolean send(byte[] b) {
        try {
            ch.configureBlocking(true);
            ByteBuffer buf = ByteBuffer.wrap(b);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private final ByteArrayOutputStream got = new ByteArrayOutputStream();
    private final ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
    private long closedAfterMillis = -1;

    /** Reads what has arrived, without waiting; true once the server has closed. */
    boolean pump() throws IOException {
        if (closedAfterMillis >= 0) {
            return true;
        }
        ch.configureBlocking(false);
        while (true) {
            int n;
            try {
                n = ch.read(buf);
            } catch (IOException reset) {
                n = -1;
            }
            if (n < 0) {
                closedAfterMillis = (System.nanoTime() - openedNanos) / 1_000_000;
                return true;
            }
            if (n == 0) {
                return false;
            }
            got.write(buf.array(), 0, buf.position());
            buf.clear();
        }
    }

    /** Reads until the server closes or {@code max} passes. */
    Result read(Duration max) throws IOException {
        long end = System.nanoTime() + max.toNanos();
        while (!pump() && System.nanoTime() < end) {
            sleep(2);
        }
        return new Result(got.toString(StandardCharsets.ISO_8859_1), closedAfterMillis >= 0, closedAfterMillis);
    }

    /** One request, then everything until the server closes (at most 10 s). */
    static Result exchange(Object where, String request) throws IOException {
        try (Raw r = open(where)) {
            r.send(request);
            return r.read(Duration.ofSeconds(10));
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
