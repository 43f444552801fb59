package dev.panda.pmd.virtio.vhostuser;

import dev.panda.jextract.Fd;
import dev.panda.pmd.virtio.vhostuser.VhostUserRequest.Payload;
import java.util.List;

/**
 * One vhost-user message: a request (front-end to back-end) or a reply, with the descriptors
 * it carries. QEMU docs/interop/vhost-user.rst, "Message Specification": a header of request
 * (u32), flags (u32: version in bits 0-1, REPLY bit 2, NEED_REPLY bit 3) and size (u32), then
 * the payload. All numbers in native byte order.
 *
 * <p>A message that was received owns its descriptors: {@link #close()} closes them, and a
 * consumer that keeps one (a kick eventfd, a region's memfd) takes it from {@link #fds()}
 * and must not close the message afterwards. {@link VhostUserCodec} encodes and decodes.
 */
public sealed interface VhostUserMessage extends AutoCloseable {

    /** Header size: request, flags, size. */
    int HEADER_SIZE = 12;
    /** Bits 0-1 of flags: the protocol version. */
    int VERSION_MASK = 0x3;
    /** "currently 0x01". */
    int VERSION = 0x1;
    /** Bit 2: set on every reply from the back-end. */
    int REPLY = 0x4;
    /** Bit 3: the sender wants a reply ("VHOST_USER_PROTOCOL_F_REPLY_ACK"). */
    int NEED_REPLY = 0x8;
    /** Bits 0-7 of a SET_VRING_KICK/CALL/ERR payload: the ring index. */
    long VRING_INDEX_MASK = 0xff;
    /** VHOST_USER_VRING_NOFD_MASK: bit 8, "set when there is no file descriptor in the ancillary data". */
    long VRING_NOFD_MASK = 0x100;
    /** VHOST_MEMORY_BASELINE_NREGIONS. */
    int MAX_REGIONS = UnixSocket.MAX_FDS;
    /** Bytes of one region in "Memory regions description". */
    int REGION_SIZE = 32;
    /** num regions (u32) and padding (u32) before the regions. */
    int MEMORY_HEADER_SIZE = 8;
    /**
     * The largest payload a reader accepts at all: a page, above every payload the spec defines
     * (the memory table is 264 bytes, a config space message 268). Larger sizes cannot be
     * skipped safely, so the connection must end.
     */
    int MAX_PAYLOAD_SIZE = 4096;

    /** The request this message is, or answers. */
    VhostUserRequest request();

    /** The header flags, version included. */
    int flags();

    /** The descriptors the message carries, in order. */
    default List<Fd> fds() {
        return List.of();
    }

    /** Whether the sender set NEED_REPLY. */
    default boolean needReply() {
        return (flags() & NEED_REPLY) != 0;
    }

    /** Whether this is a reply (REPLY set). */
    default boolean isReply() {
        return (flags() & REPLY) != 0;
    }

    /** Closes every descriptor the message carries (idempotent). */
    @Override
    default void close() {
        for (Fd fd : fds()) {
            UnixSocket.closeQuietly(fd);
        }
    }

    /** The flags of a request: the version, and NEED_REPLY if asked for. */
    static int requestFlags(boolean needReply) {
        return VERSION | (needReply ? NEED_REPLY : 0);
    }

    /** The flags of a reply. */
    static int replyFlags() {
        return VERSION | REPLY;
    }

    /** A request without payload or descriptors: GET_FEATURES, SET_OWNER, GET_QUEUE_NUM, ... */
    record Bare(VhostUserRequest request, int flags) implements VhostUserMessage {
        public Bare {
            checkFlags(flags, false);
            require(
                    request.payload() == Payload.NONE && request.fds() == VhostUserRequest.Fds.NONE,
                    request + " is not a request without payload");
        }
    }

    /**
     * A u64 payload: SET_FEATURES, SET_PROTOCOL_FEATURES, SET_STATUS; as a reply, the answer
     * to GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM, GET_STATUS, or a REPLY_ACK status
     * (0 success, non-zero failure) for a request that has no reply body of its own.
     */
    record U64(VhostUserRequest request, int flags, long value) implements VhostUserMessage {
        public U64 {
            checkFlags(flags, true);
            boolean reply = (flags & REPLY) != 0;
            require(
                    reply
                            ? request.reply() == Payload.U64 || request.reply() == Payload.NONE
                            : request.payload() == Payload.U64,
                    request + (reply ? " has no u64 reply" : " has no u64 payload"));
        }

        /** The reply to {@code request} carrying {@code value}. */
        public static U64 reply(VhostUserRequest request, long value) {
            return new U64(request, replyFlags(), value);
        }
    }

    /**
     * "A vring state description": SET_VRING_NUM (num = size), SET_VRING_BASE (num = next
     * avail index), SET_VRING_ENABLE (num = 0/1), GET_VRING_BASE (num ignored) and its reply.
     */
    record VringState(VhostUserRequest request, int flags, int index, int num) implements VhostUserMessage {
        public VringState {
            checkFlags(flags, true);
            boolean reply = (flags & REPLY) != 0;
            require(
                    (reply ? request.reply() : request.payload()) == Payload.VRING_STATE,
                    request + (reply ? " has no vring state reply" : " has no vring state payload"));
        }

        /** The reply to GET_VRING_BASE. */
        public static VringState reply(VhostUserRequest request, int index, int num) {
            return new VringState(request, replyFlags(), index, num);
        }
    }

    /**
     * SET_VRING_ADDR, "A vring address description". The ring addresses are front-end user
     * addresses (IOVAs with VIRTIO_F_IOMMU_PLATFORM); {@code logAddr} is a guest address.
     * {@code addrFlags} bit 0 is VHOST_VRING_F_LOG.
     */
    record VringAddr(int flags, int index, int addrFlags, long descAddr, long usedAddr, long availAddr, long logAddr)
            implements VhostUserMessage {
        public VringAddr {
            checkFlags(flags, false);
        }

        @Override
        public VhostUserRequest request() {
            return VhostUserRequest.SET_VRING_ADDR;
        }
    }

    /**
     * SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR: ring {@code index} (0-255) and its
     * eventfd, or {@code fd == null} with the NOFD bit ("polling should be used").
     */
    record VringFd(VhostUserRequest request, int flags, int index, Fd fd) implements VhostUserMessage {
        public VringFd {
            checkFlags(flags, false);
            require(request.payload() == Payload.VRING_FD, request + " does not set a vring fd");
            require(index >= 0 && index <= VRING_INDEX_MASK, "vring index " + index + " not in 0..255");
        }

        /** The u64 payload: index, and NOFD when there is no descriptor. */
        public long payload() {
            return index | (fd == null ? VRING_NOFD_MASK : 0);
        }

        @Override
        public List<Fd> fds() {
            return fd == null ? List.of() : List.of(fd);
        }
    }

    /** One region of "Memory regions description". */
    record MemoryRegion(long guestPhysAddr, long memorySize, long userspaceAddr, long mmapOffset) {}

    /** SET_MEM_TABLE: 1 to {@link #MAX_REGIONS} regions and one descriptor per region, in order. */
    record MemTable(int flags, List<MemoryRegion> regions, List<Fd> fds) implements VhostUserMessage {
        public MemTable {
            checkFlags(flags, false);
            regions = List.copyOf(regions);
            fds = List.copyOf(fds);
            require(
                    !regions.isEmpty() && regions.size() <= MAX_REGIONS,
                    regions.size() + " regions, need 1.." + MAX_REGIONS);
            require(fds.size() == regions.size(), regions.size() + " regions but " + fds.size() + " fds");
        }

        @Override
        public VhostUserRequest request() {
            return VhostUserRequest.SET_MEM_TABLE;
        }
    }

    /** SET_LOG_BASE: "Log description" (log size, log offset into the fd's file) and the log's fd. */
    record LogBase(int flags, long size, long offset, Fd fd) implements VhostUserMessage {
        public LogBase {
            checkFlags(flags, false);
            require(fd != null, "SET_LOG_BASE needs its fd");
        }

        @Override
        public VhostUserRequest request() {
            return VhostUserRequest.SET_LOG_BASE;
        }

        @Override
        public List<Fd> fds() {
            return List.of(fd);
        }
    }

    /** SET_LOG_FD: the eventfd that signals log changes. */
    record LogFd(int flags, Fd fd) implements VhostUserMessage {
        public LogFd {
            checkFlags(flags, false);
            require(fd != null, "SET_LOG_FD needs its fd");
        }

        @Override
        public VhostUserRequest request() {
            return VhostUserRequest.SET_LOG_FD;
        }

        @Override
        public List<Fd> fds() {
            return List.of(fd);
        }
    }

    private static void checkFlags(int flags, boolean replyAllowed) {
        require((flags & VERSION_MASK) == VERSION, "version " + (flags & VERSION_MASK) + ", only 1 is defined");
        require(replyAllowed || (flags & REPLY) == 0, "REPLY set on a request");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
