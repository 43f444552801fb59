package dev.panda.pmd.virtio.vhostuser;

/**
 * The front-end requests panda speaks, with the payload each carries and the reply it expects
 * (QEMU docs/interop/vhost-user.rst, "Front-end message types"; payload formats under
 * "Message Specification" / "Payload").
 */
public enum VhostUserRequest {
    GET_FEATURES(1, Payload.NONE, Fds.NONE, Payload.U64),
    SET_FEATURES(2, Payload.U64, Fds.NONE, Payload.NONE),
    SET_OWNER(3, Payload.NONE, Fds.NONE, Payload.NONE),
    /** Deprecated by the spec; back-ends may ignore it or disable all rings. */
    RESET_OWNER(4, Payload.NONE, Fds.NONE, Payload.NONE),
    /** One fd per region, in region order. */
    SET_MEM_TABLE(5, Payload.MEMORY, Fds.PER_REGION, Payload.NONE),
    /**
     * The log description; its shared memory fd (VHOST_USER_PROTOCOL_F_LOG_SHMFD). Answered with a
     * u64 once the log is mapped ("Reply payload: u64"; QEMU waits for it before migrating).
     */
    SET_LOG_BASE(6, Payload.LOG, Fds.ONE, Payload.U64),
    SET_LOG_FD(7, Payload.NONE, Fds.ONE, Payload.NONE),
    SET_VRING_NUM(8, Payload.VRING_STATE, Fds.NONE, Payload.NONE),
    SET_VRING_ADDR(9, Payload.VRING_ADDR, Fds.NONE, Payload.NONE),
    SET_VRING_BASE(10, Payload.VRING_STATE, Fds.NONE, Payload.NONE),
    GET_VRING_BASE(11, Payload.VRING_STATE, Fds.NONE, Payload.VRING_STATE),
    /** u64: ring index in bits 0-7, bit 8 set when no fd is passed (polling). */
    SET_VRING_KICK(12, Payload.VRING_FD, Fds.UNLESS_NOFD, Payload.NONE),
    SET_VRING_CALL(13, Payload.VRING_FD, Fds.UNLESS_NOFD, Payload.NONE),
    SET_VRING_ERR(14, Payload.VRING_FD, Fds.UNLESS_NOFD, Payload.NONE),
    GET_PROTOCOL_FEATURES(15, Payload.NONE, Fds.NONE, Payload.U64),
    SET_PROTOCOL_FEATURES(16, Payload.U64, Fds.NONE, Payload.NONE),
    GET_QUEUE_NUM(17, Payload.NONE, Fds.NONE, Payload.U64),
    SET_VRING_ENABLE(18, Payload.VRING_STATE, Fds.NONE, Payload.NONE),
    SET_STATUS(39, Payload.U64, Fds.NONE, Payload.NONE),
    GET_STATUS(40, Payload.NONE, Fds.NONE, Payload.U64);

    /** Payload formats ("Payload" in the spec), with their fixed sizes in bytes. */
    public enum Payload {
        NONE(0),
        /** "A single 64-bit integer". */
        U64(8),
        /** "A vring state description": index u32, num u32. */
        VRING_STATE(8),
        /** "A vring address description": index, flags, descriptor, used, available, log. */
        VRING_ADDR(40),
        /** "Memory regions description": num regions u32, padding u32, regions of 32 bytes. */
        MEMORY(-1),
        /** "Log description": log size u64, log offset u64. */
        LOG(16),
        /** A u64 with the ring index in bits 0-7 and VHOST_USER_VRING_NOFD_MASK (bit 8). */
        VRING_FD(8);

        private final int size;

        Payload(int size) {
            this.size = size;
        }

        /** The fixed payload size, or -1 for {@link #MEMORY} (8 + 32 per region). */
        public int size() {
            return size;
        }
    }

    /** How many descriptors a request must carry in its ancillary data. */
    public enum Fds {
        NONE,
        ONE,
        /** Exactly num_regions ("The size and ordering of the fds matches the number and ordering of memory regions"). */
        PER_REGION,
        /** One, unless the NOFD bit is set, then none. */
        UNLESS_NOFD
    }

    private static final VhostUserRequest[] BY_ID = byId();

    private static VhostUserRequest[] byId() {
        VhostUserRequest[] all = values();
        VhostUserRequest[] byId = new VhostUserRequest[all[all.length - 1].id + 1];
        for (VhostUserRequest r : all) {
            byId[r.id] = r;
        }
        return byId;
    }

    private final int id;
    private final Payload payload;
    private final Fds fds;
    private final Payload reply;

    VhostUserRequest(int id, Payload payload, Fds fds, Payload reply) {
        this.id = id;
        this.payload = payload;
        this.fds = fds;
        this.reply = reply;
    }

    /** The request number on the wire. */
    public int id() {
        return id;
    }

    /** The request's payload format. */
    public Payload payload() {
        return payload;
    }

    /** The descriptors the request carries. */
    public Fds fds() {
        return fds;
    }

    /**
     * The payload of the reply the request always gets ({@link Payload#NONE} if it gets none
     * unless NEED_REPLY was set; then the reply is a u64, "VHOST_USER_PROTOCOL_F_REPLY_ACK").
     */
    public Payload reply() {
        return reply;
    }

    /** Whether the back-end replies to this request even without NEED_REPLY ("Communication"). */
    public boolean alwaysReplies() {
        return reply != Payload.NONE;
    }

    /** The request with wire number {@code id}, or {@code null} if panda does not know it. */
    public static VhostUserRequest byId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }
}
