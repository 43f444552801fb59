package dev.panda.pmd.virtio.vhostuser;

import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.HEADER_SIZE;
import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MAX_PAYLOAD_SIZE;
import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MAX_REGIONS;
import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MEMORY_HEADER_SIZE;
import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.REGION_SIZE;
import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.REPLY;
import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VERSION;
import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VERSION_MASK;
import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VRING_INDEX_MASK;
import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VRING_NOFD_MASK;

import dev.panda.jextract.Fd;
import dev.panda.jextract.uapi.vhost_memory_region;
import dev.panda.jextract.uapi.vhost_vring_addr;
import dev.panda.jextract.uapi.vhost_vring_state;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.Bare;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.LogBase;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.LogFd;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemTable;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemoryRegion;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.U64;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringAddr;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringFd;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringState;
import dev.panda.pmd.virtio.vhostuser.VhostUserRequest.Payload;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes and decodes vhost-user messages (QEMU docs/interop/vhost-user.rst, "Message
 * Specification"; payload per request from "Front-end message types").
 *
 * <p>Decoding is of untrusted input. A message with the wrong payload size for its request, a
 * size above {@link VhostUserMessage#MAX_PAYLOAD_SIZE}, a version other than 1, an unknown
 * request, a memory table with 0 or more than 8 regions (or regions that wrap around the
 * address space), or a number of descriptors other than the request needs, decodes to a
 * {@link DecodeResult.Invalid} naming the problem, and every descriptor that came with it is
 * closed. Nothing is thrown.
 */
public final class VhostUserCodec {

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    // Header ("Header": request, flags, size, each u32)
    private static final long REQUEST_AT = 0;
    private static final long FLAGS_AT = 4;
    private static final long SIZE_AT = 8;

    // "A vring state description" and "A vring address description" are the kernel's structs
    private static final long STATE_INDEX = vhost_vring_state.index$offset();
    private static final long STATE_NUM = vhost_vring_state.num$offset();
    private static final long ADDR_INDEX = vhost_vring_addr.index$offset();
    private static final long ADDR_FLAGS = vhost_vring_addr.flags$offset();
    private static final long ADDR_DESC = vhost_vring_addr.desc_user_addr$offset();
    private static final long ADDR_USED = vhost_vring_addr.used_user_addr$offset();
    private static final long ADDR_AVAIL = vhost_vring_addr.avail_user_addr$offset();
    private static final long ADDR_LOG = vhost_vring_addr.log_guest_addr$offset();
    // "Memory regions description": the kernel's vhost_memory_region with mmap_offset where
    // the kernel has flags_padding
    private static final long REGION_GPA = vhost_memory_region.guest_phys_addr$offset();
    private static final long REGION_SIZE_AT = vhost_memory_region.memory_size$offset();
    private static final long REGION_UVA = vhost_memory_region.userspace_addr$offset();
    private static final long REGION_MMAP_OFFSET = vhost_memory_region.flags_padding$offset();
    // "Log description": log size, log offset
    private static final long LOG_SIZE = 0;
    private static final long LOG_OFFSET = 8;

    static {
        if (vhost_vring_state.sizeof() != Payload.VRING_STATE.size()
                || vhost_vring_addr.sizeof() != Payload.VRING_ADDR.size()
                || vhost_memory_region.sizeof() != REGION_SIZE) {
            throw new ExceptionInInitializerError("generated vhost layouts disagree with the vhost-user payloads");
        }
    }

    private VhostUserCodec() {}

    // ---------------------------------------------------------------- encoding

    /** Header plus payload bytes of {@code message}. */
    public static int encodedSize(VhostUserMessage message) {
        return HEADER_SIZE + payloadSize(message);
    }

    /** The payload bytes of {@code message}. */
    public static int payloadSize(VhostUserMessage message) {
        return switch (message) {
            case Bare _ -> 0;
            case LogFd _ -> 0;
            case U64 _ -> Payload.U64.size();
            case VringState _ -> Payload.VRING_STATE.size();
            case VringFd _ -> Payload.VRING_FD.size();
            case VringAddr _ -> Payload.VRING_ADDR.size();
            case LogBase _ -> Payload.LOG.size();
            case MemTable m -> MEMORY_HEADER_SIZE + m.regions().size() * REGION_SIZE;
        };
    }

    /**
     * Writes {@code message} (header and payload, native byte order) at the start of
     * {@code dst}; its descriptors go beside, in the ancillary data.
     *
     * @return the bytes written, {@link #encodedSize}
     */
    public static int encode(VhostUserMessage message, MemorySegment dst) {
        int size = payloadSize(message);
        MemorySegment out = dst.asSlice(0, HEADER_SIZE + size);
        out.set(INT, REQUEST_AT, message.request().id());
        out.set(INT, FLAGS_AT, message.flags());
        out.set(INT, SIZE_AT, size);
        MemorySegment p = out.asSlice(HEADER_SIZE);
        switch (message) {
            case Bare _ -> {}
            case LogFd _ -> {}
            case U64 u -> p.set(LONG, 0, u.value());
            case VringState s -> {
                p.set(INT, STATE_INDEX, s.index());
                p.set(INT, STATE_NUM, s.num());
            }
            case VringFd f -> p.set(LONG, 0, f.payload());
            case VringAddr a -> {
                p.set(INT, ADDR_INDEX, a.index());
                p.set(INT, ADDR_FLAGS, a.addrFlags());
                p.set(LONG, ADDR_DESC, a.descAddr());
                p.set(LONG, ADDR_USED, a.usedAddr());
                p.set(LONG, ADDR_AVAIL, a.availAddr());
                p.set(LONG, ADDR_LOG, a.logAddr());
            }
            case LogBase l -> {
                p.set(LONG, LOG_SIZE, l.size());
                p.set(LONG, LOG_OFFSET, l.offset());
            }
            case MemTable m -> {
                p.set(INT, 0, m.regions().size());
                p.set(INT, 4, 0); // padding
                for (int i = 0; i < m.regions().size(); i++) {
                    MemoryRegion r = m.regions().get(i);
                    long at = MEMORY_HEADER_SIZE + (long) i * REGION_SIZE;
                    p.set(LONG, at + REGION_GPA, r.guestPhysAddr());
                    p.set(LONG, at + REGION_SIZE_AT, r.memorySize());
                    p.set(LONG, at + REGION_UVA, r.userspaceAddr());
                    p.set(LONG, at + REGION_MMAP_OFFSET, r.mmapOffset());
                }
            }
        }
        return HEADER_SIZE + size;
    }

    /** The encoded bytes of {@code message} in a new array (tests, logs). */
    public static byte[] toBytes(VhostUserMessage message) {
        byte[] bytes = new byte[encodedSize(message)];
        encode(message, MemorySegment.ofArray(bytes));
        return bytes;
    }

    // ---------------------------------------------------------------- decoding

    /** The payload size a header announces (unsigned), for a reader that has only the header. */
    public static long announcedSize(MemorySegment header) {
        return Integer.toUnsignedLong(header.get(INT, SIZE_AT));
    }

    /**
     * Decodes a request the back-end received: {@code bytes} is exactly one message (header and
     * payload), {@code fds} the descriptors that came with it, now owned by the result.
     */
    public static DecodeResult decodeRequest(MemorySegment bytes, List<Fd> fds) {
        return decode(bytes, fds, null);
    }

    /**
     * Decodes the reply the front-end received to {@code expected}: a u64 for GET_FEATURES,
     * GET_PROTOCOL_FEATURES, GET_QUEUE_NUM, GET_STATUS; a vring state for GET_VRING_BASE; a
     * u64 REPLY_ACK status for anything else. A reply carries no descriptors.
     */
    public static DecodeResult decodeReply(VhostUserRequest expected, MemorySegment bytes, List<Fd> fds) {
        return decode(bytes, fds, expected);
    }

    private static DecodeResult decode(MemorySegment bytes, List<Fd> fds, VhostUserRequest expectedReply) {
        int request = -1;
        int flags = 0;
        try {
            if (bytes.byteSize() < HEADER_SIZE) {
                return invalid(
                        request,
                        flags,
                        fds,
                        "message of " + bytes.byteSize() + " bytes is shorter than the " + HEADER_SIZE + "-byte header",
                        true);
            }
            request = bytes.get(INT, REQUEST_AT);
            flags = bytes.get(INT, FLAGS_AT);
            long size = announcedSize(bytes);
            if (size > MAX_PAYLOAD_SIZE) {
                return invalid(
                        request, flags, fds, "payload size " + size + " above the cap of " + MAX_PAYLOAD_SIZE, true);
            }
            if (bytes.byteSize() != HEADER_SIZE + size) {
                return invalid(
                        request,
                        flags,
                        fds,
                        "header says " + size + " payload bytes, message has " + (bytes.byteSize() - HEADER_SIZE),
                        true);
            }
            if ((flags & VERSION_MASK) != VERSION) {
                return invalid(request, flags, fds, "version " + (flags & VERSION_MASK) + ", only 1 is defined", false);
            }
            VhostUserRequest r = VhostUserRequest.byId(request);
            if (r == null) {
                return invalid(request, flags, fds, "unknown request " + Integer.toUnsignedString(request), false);
            }
            MemorySegment payload = bytes.asSlice(HEADER_SIZE);
            String problem = expectedReply == null ? null : checkReplyHeader(r, flags, expectedReply);
            if (problem == null && expectedReply == null && (flags & REPLY) != 0) {
                problem = "REPLY flag set on a request";
            }
            if (problem != null) {
                return invalid(request, flags, fds, problem, false);
            }
            return expectedReply == null
                    ? requestPayload(r, flags, payload, fds)
                    : replyPayload(r, flags, payload, fds);
        } catch (RuntimeException e) {
            // a bug here must not take the socket loop down: reject the message like any other
            return invalid(request, flags, fds, "decoder failed: " + e, false);
        }
    }

    private static String checkReplyHeader(VhostUserRequest r, int flags, VhostUserRequest expected) {
        if (r != expected) {
            return "reply to " + r + " while waiting for the reply to " + expected;
        }
        return (flags & REPLY) == 0 ? "REPLY flag missing on a reply" : null;
    }

    private static DecodeResult replyPayload(VhostUserRequest r, int flags, MemorySegment p, List<Fd> fds) {
        if (!fds.isEmpty()) {
            return invalid(r.id(), flags, fds, "reply carries " + fds.size() + " fds, expected none", false);
        }
        // REPLY_ACK: "The payload should be set to zero on success or non-zero on failure,
        // unless the message already has an explicit reply body."
        Payload shape = r.reply() == Payload.NONE ? Payload.U64 : r.reply();
        String bad = checkSize(r, shape.size(), p.byteSize());
        if (bad != null) {
            return invalid(r.id(), flags, fds, bad, false);
        }
        VhostUserMessage m = shape == Payload.VRING_STATE
                ? new VringState(r, flags, p.get(INT, STATE_INDEX), p.get(INT, STATE_NUM))
                : new U64(r, flags, p.get(LONG, 0));
        return new DecodeResult.Ok(m);
    }

    private static DecodeResult requestPayload(VhostUserRequest r, int flags, MemorySegment p, List<Fd> fds) {
        Payload shape = r.payload();
        String bad = shape == Payload.MEMORY ? null : checkSize(r, shape.size(), p.byteSize());
        if (bad != null) {
            return invalid(r.id(), flags, fds, bad, false);
        }
        return switch (shape) {
            case NONE ->
                switch (r) {
                    case SET_LOG_FD ->
                        fds.size() == 1 ? ok(new LogFd(flags, fds.getFirst())) : wrongFds(r, flags, fds, 1);
                    default -> fds.size() == 0 ? ok(new Bare(r, flags)) : wrongFds(r, flags, fds, 0);
                };
            case U64 -> fds.size() == 0 ? ok(new U64(r, flags, p.get(LONG, 0))) : wrongFds(r, flags, fds, 0);
            case VRING_STATE ->
                fds.size() == 0
                        ? ok(new VringState(r, flags, p.get(INT, STATE_INDEX), p.get(INT, STATE_NUM)))
                        : wrongFds(r, flags, fds, 0);
            case VRING_ADDR ->
                fds.size() == 0
                        ? ok(new VringAddr(
                                flags,
                                p.get(INT, ADDR_INDEX),
                                p.get(INT, ADDR_FLAGS),
                                p.get(LONG, ADDR_DESC),
                                p.get(LONG, ADDR_USED),
                                p.get(LONG, ADDR_AVAIL),
                                p.get(LONG, ADDR_LOG)))
                        : wrongFds(r, flags, fds, 0);
            case LOG ->
                fds.size() == 1
                        ? ok(new LogBase(flags, p.get(LONG, LOG_SIZE), p.get(LONG, LOG_OFFSET), fds.getFirst()))
                        : wrongFds(r, flags, fds, 1);
            case VRING_FD -> decodeVringFd(r, flags, p.get(LONG, 0), fds);
            case MEMORY -> decodeMemTable(flags, p, fds);
        };
    }

    /** SET_VRING_KICK/CALL/ERR: "Bits (0-7) of the payload contain the vring index. Bit 8 is the invalid FD flag." */
    private static DecodeResult decodeVringFd(VhostUserRequest r, int flags, long value, List<Fd> fds) {
        if ((value & ~(VRING_INDEX_MASK | VRING_NOFD_MASK)) != 0) {
            return invalid(
                    r.id(),
                    flags,
                    fds,
                    "payload 0x" + Long.toHexString(value) + " has bits set above the index and NOFD bits",
                    false);
        }
        boolean noFd = (value & VRING_NOFD_MASK) != 0;
        int need = noFd ? 0 : 1;
        if (fds.size() != need) {
            return wrongFds(r, flags, fds, need);
        }
        return ok(new VringFd(r, flags, (int) (value & VRING_INDEX_MASK), noFd ? null : fds.getFirst()));
    }

    /** SET_MEM_TABLE: "Memory regions description", one fd per region in order. */
    private static DecodeResult decodeMemTable(int flags, MemorySegment p, List<Fd> fds) {
        int id = VhostUserRequest.SET_MEM_TABLE.id();
        if (p.byteSize() < MEMORY_HEADER_SIZE) {
            return invalid(
                    id,
                    flags,
                    fds,
                    "SET_MEM_TABLE payload of " + p.byteSize() + " bytes lacks num regions and padding",
                    false);
        }
        long n = Integer.toUnsignedLong(p.get(INT, 0));
        if (n == 0 || n > MAX_REGIONS) {
            return invalid(id, flags, fds, n + " memory regions, need 1.." + MAX_REGIONS, false);
        }
        long expected = MEMORY_HEADER_SIZE + n * REGION_SIZE;
        if (p.byteSize() != expected) {
            return invalid(
                    id,
                    flags,
                    fds,
                    "SET_MEM_TABLE with " + n + " regions needs " + expected + " payload bytes, got " + p.byteSize(),
                    false);
        }
        if (fds.size() != n) {
            return wrongFds(VhostUserRequest.SET_MEM_TABLE, flags, fds, (int) n);
        }
        List<MemoryRegion> regions = new ArrayList<>((int) n);
        for (int i = 0; i < n; i++) {
            long at = MEMORY_HEADER_SIZE + (long) i * REGION_SIZE;
            MemoryRegion region = new MemoryRegion(
                    p.get(LONG, at + REGION_GPA),
                    p.get(LONG, at + REGION_SIZE_AT),
                    p.get(LONG, at + REGION_UVA),
                    p.get(LONG, at + REGION_MMAP_OFFSET));
            String bad = checkRegion(region);
            if (bad != null) {
                return invalid(id, flags, fds, "region " + i + ": " + bad, false);
            }
            regions.add(region);
        }
        return ok(new MemTable(flags, regions, fds));
    }

    /**
     * A region must be non-empty, must not wrap the guest or user address space, and its file
     * range [mmap offset, mmap offset + size) must fit in an {@code off_t}.
     */
    static String checkRegion(MemoryRegion r) {
        long size = r.memorySize();
        if (size <= 0) {
            return "memory size " + Long.toUnsignedString(size) + (size == 0 ? " is empty" : " is beyond 2^63");
        }
        if (Long.compareUnsigned(r.guestPhysAddr() + (size - 1), r.guestPhysAddr()) < 0) {
            return "guest address 0x" + Long.toHexString(r.guestPhysAddr()) + " + size 0x" + Long.toHexString(size)
                    + " wraps around";
        }
        if (Long.compareUnsigned(r.userspaceAddr() + (size - 1), r.userspaceAddr()) < 0) {
            return "user address 0x" + Long.toHexString(r.userspaceAddr()) + " + size 0x" + Long.toHexString(size)
                    + " wraps around";
        }
        if (r.mmapOffset() < 0 || r.mmapOffset() + size < 0) {
            return "mmap offset 0x" + Long.toHexString(r.mmapOffset()) + " + size 0x" + Long.toHexString(size)
                    + " is beyond 2^63";
        }
        return null;
    }

    private static String checkSize(VhostUserRequest r, int expected, long actual) {
        return actual == expected ? null : r + " needs a " + expected + "-byte payload, got " + actual;
    }

    private static DecodeResult wrongFds(VhostUserRequest r, int flags, List<Fd> fds, int n) {
        return invalid(
                r.id(), flags, fds, r + " needs " + n + (n == 1 ? " fd" : " fds") + ", got " + fds.size(), false);
    }

    private static DecodeResult ok(VhostUserMessage m) {
        return new DecodeResult.Ok(m);
    }

    private static DecodeResult invalid(int request, int flags, List<Fd> fds, String reason, boolean fatal) {
        fds.forEach(UnixSocket::closeQuietly);
        return new DecodeResult.Invalid(request, flags, reason, fatal);
    }
}
