package dev.panda.pmd.virtio.vhostuser;

import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.HEADER_SIZE;
import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MAX_PAYLOAD_SIZE;

import dev.panda.jextract.Fd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Messages over a vhost-user {@link UnixSocket}: reads one message at a time (the header with
 * its descriptors, then exactly the payload the header announces, as QEMU and DPDK frame
 * them), decodes it with {@link VhostUserCodec}, and sends encoded messages with their
 * descriptors. Peer misbehaviour comes back as {@link DecodeResult.Invalid} (descriptors
 * closed), the end of the connection as {@link DecodeResult.Closed}; only local failures of
 * the socket itself throw ({@link dev.panda.jextract.NativeException}).
 *
 * <p>One reader and one writer thread at most; every call uses a confined arena of its own.
 */
public final class VhostUserChannel implements AutoCloseable {

    private final UnixSocket socket;

    public VhostUserChannel(UnixSocket socket) {
        this.socket = socket;
    }

    /** The socket underneath. */
    public UnixSocket socket() {
        return socket;
    }

    /** Reads and decodes the next front-end request (back-end side). */
    public DecodeResult readRequest() {
        return read(null);
    }

    /** Reads and decodes the back-end's reply to {@code request} (front-end side). */
    public DecodeResult readReply(VhostUserRequest request) {
        return read(request);
    }

    /** Encodes {@code message} and sends it with its descriptors (which stay the caller's). */
    public void send(VhostUserMessage message) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bytes = arena.allocate(VhostUserCodec.encodedSize(message), 8);
            VhostUserCodec.encode(message, bytes);
            socket.send(bytes, message.fds());
        }
    }

    /**
     * Sends a REPLY_ACK status for request number {@code request}, which may be one panda does not
     * know (vhost-user.rst, "VHOST_USER_PROTOCOL_F_REPLY_ACK": a u64, zero for success).
     */
    public void sendAck(int request, long status) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bytes = arena.allocate(HEADER_SIZE + Long.BYTES, 8);
            bytes.set(ValueLayout.JAVA_INT, 0, request);
            bytes.set(ValueLayout.JAVA_INT, 4, VhostUserMessage.replyFlags());
            bytes.set(ValueLayout.JAVA_INT, 8, Long.BYTES);
            bytes.set(ValueLayout.JAVA_LONG_UNALIGNED, HEADER_SIZE, status);
            socket.send(bytes, List.of());
        }
    }

    private DecodeResult read(VhostUserRequest expectedReply) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(HEADER_SIZE + MAX_PAYLOAD_SIZE, 8);
            Fds fds = new Fds();
            int got = fill(buf.asSlice(0, HEADER_SIZE), fds);
            if (got == 0 && fds.list.isEmpty() && !fds.dropped) {
                return new DecodeResult.Closed();
            }
            if (got < HEADER_SIZE) {
                return fds.reject(-1, 0, "peer closed after " + got + " of " + HEADER_SIZE + " header bytes", true);
            }
            int request = buf.get(ValueLayout.JAVA_INT, 0);
            int flags = buf.get(ValueLayout.JAVA_INT, 4);
            long size = VhostUserCodec.announcedSize(buf);
            if (size > MAX_PAYLOAD_SIZE) {
                return fds.reject(
                        request, flags, "payload size " + size + " above the cap of " + MAX_PAYLOAD_SIZE, true);
            }
            if (size > 0) {
                got = fill(buf.asSlice(HEADER_SIZE, size), fds);
                if (got < size) {
                    return fds.reject(
                            request, flags, "peer closed after " + got + " of " + size + " payload bytes", true);
                }
            }
            if (fds.dropped) {
                return fds.reject(
                        request,
                        flags,
                        "more than " + UnixSocket.MAX_FDS + " fds sent with one message (truncated)",
                        false);
            }
            MemorySegment message = buf.asSlice(0, HEADER_SIZE + size);
            return expectedReply == null
                    ? VhostUserCodec.decodeRequest(message, fds.list)
                    : VhostUserCodec.decodeReply(expectedReply, message, fds.list);
        }
    }

    /** Reads until {@code dst} is full or the peer closes; returns the bytes read. */
    private int fill(MemorySegment dst, Fds fds) {
        long got = 0;
        while (got < dst.byteSize()) {
            UnixSocket.Received r;
            try {
                r = socket.recv(dst.asSlice(got), UnixSocket.MAX_FDS);
            } catch (RuntimeException e) {
                fds.closeAll();
                throw e;
            }
            fds.take(r);
            if (r.bytes() == 0) {
                break;
            }
            got += r.bytes();
        }
        return (int) got;
    }

    /** Descriptors gathered while reading one message, bounded by {@link UnixSocket#MAX_FDS}. */
    private static final class Fds {
        final List<Fd> list = new ArrayList<>();
        boolean dropped;

        void take(UnixSocket.Received r) {
            dropped |= r.fdsTruncated();
            for (Fd fd : r.fds()) {
                if (list.size() < UnixSocket.MAX_FDS) {
                    list.add(fd);
                } else {
                    // a peer splitting one message into many fd-carrying pieces: never hold more than 8
                    UnixSocket.closeQuietly(fd);
                    dropped = true;
                }
            }
        }

        DecodeResult reject(int request, int flags, String reason, boolean fatal) {
            closeAll();
            return new DecodeResult.Invalid(request, flags, reason, fatal);
        }

        void closeAll() {
            list.forEach(UnixSocket::closeQuietly);
        }
    }

    /** Closes the socket (a thread blocked in a read sees {@link DecodeResult.Closed} or an error). */
    @Override
    public void close() {
        socket.close();
    }
}
