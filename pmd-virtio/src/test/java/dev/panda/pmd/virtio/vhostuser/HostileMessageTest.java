package dev.panda.pmd.virtio.vhostuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Each way a peer can get a message wrong decodes to a typed {@link DecodeResult.Invalid} with a
 * message that names the problem, and the descriptors that came with it are closed.
 */
class HostileMessageTest {

    private static final int V = VhostUserMessage.VERSION;
    private long fdsBefore;

    @BeforeEach
    void countFds() {
        fdsBefore = Leaks.openFds();
    }

    @AfterEach
    void noFdLeaked() {
        assertEquals(fdsBefore, Leaks.openFds(), "descriptors leaked");
    }

    @Test
    void framing() {
        rejects(new byte[5], 0, "shorter than the 12-byte header", true);
        rejects(message(1, V, 4097, new byte[0]), 0, "above the cap", true);
        rejects(message(1, V, 0xffff_fff0, new byte[0]), 0, "above the cap", true);
        rejects(message(2, V, 8, new byte[4]), 1, "header says 8 payload bytes, message has 4", true);
        rejects(message(2, V, 4, new byte[8]), 1, "header says 4 payload bytes, message has 8", true);
    }

    @Test
    void headerFields() {
        rejects(message(1, 0, 0, new byte[0]), 0, "version 0", false);
        rejects(message(1, 2 | VhostUserMessage.NEED_REPLY, 0, new byte[0]), 1, "version 2", false);
        rejects(message(1, V | VhostUserMessage.REPLY, 0, new byte[0]), 2, "REPLY flag set on a request", false);
        rejects(message(0, V, 0, new byte[0]), 0, "unknown request 0", false);
        rejects(message(19, V, 8, new byte[8]), 1, "unknown request 19", false);
        rejects(message(-1, V, 0, new byte[0]), 3, "unknown request 4294967295", false);
        DecodeResult.Invalid inv = rejects(
                message(1000, V | VhostUserMessage.NEED_REPLY, 0, new byte[0]), 0, "unknown request 1000", false);
        assertTrue(inv.needReply(), "the back-end can still send a failure ack");
    }

    @Test
    void wrongPayloadSizes() {
        for (VhostUserRequest r : VhostUserRequest.values()) {
            int size = r.payload().size();
            if (size < 0) {
                continue;
            }
            int fds = r.fds() == VhostUserRequest.Fds.NONE ? 0 : 1;
            rejects(message(r.id(), V, size + 1, new byte[size + 1]), fds, "-byte payload, got " + (size + 1), false);
            if (size > 0) {
                rejects(
                        message(r.id(), V, size - 1, new byte[size - 1]),
                        fds,
                        "-byte payload, got " + (size - 1),
                        false);
                rejects(message(r.id(), V, 0, new byte[0]), fds, "-byte payload, got 0", false);
            }
        }
    }

    @Test
    void wrongFdCounts() {
        rejects(message(1, V, 0, new byte[0]), 1, "GET_FEATURES needs 0 fds, got 1", false);
        rejects(message(2, V, 8, new byte[8]), 2, "SET_FEATURES needs 0 fds, got 2", false);
        rejects(message(9, V, 40, new byte[40]), 8, "SET_VRING_ADDR needs 0 fds, got 8", false);
        rejects(message(6, V, 16, new byte[16]), 0, "SET_LOG_BASE needs 1 fd, got 0", false);
        rejects(message(6, V, 16, new byte[16]), 2, "SET_LOG_BASE needs 1 fd, got 2", false);
        rejects(message(7, V, 0, new byte[0]), 0, "SET_LOG_FD needs 1 fd, got 0", false);
    }

    @Test
    void vringFds() {
        rejects(message(12, V, 8, u64(0)), 0, "SET_VRING_KICK needs 1 fd, got 0", false);
        rejects(message(12, V, 8, u64(0x100)), 1, "SET_VRING_KICK needs 0 fds, got 1", false);
        rejects(message(13, V, 8, u64(0x5)), 2, "SET_VRING_CALL needs 1 fd, got 2", false);
        rejects(message(14, V, 8, u64(0x200)), 1, "bits set above the index and NOFD bits", false);
        rejects(message(12, V, 8, u64(1L << 63 | 0x100)), 0, "bits set above the index and NOFD bits", false);
    }

    @Test
    void memoryTables() {
        rejects(memTable(0, 0), 0, "0 memory regions, need 1..8", false);
        rejects(memTable(9, 9), 8, "9 memory regions, need 1..8", false);
        rejects(message(5, V, 8, u32s(0xffff_ffff, 0)), 8, "4294967295 memory regions", false);
        rejects(message(5, V, 4, new byte[4]), 1, "lacks num regions and padding", false);
        rejects(
                message(
                        5,
                        V,
                        8 + 32,
                        ByteBuffer.allocate(40)
                                .order(ByteOrder.nativeOrder())
                                .putInt(2)
                                .array()),
                2,
                "with 2 regions needs 72 payload bytes, got 40",
                false);
        rejects(memTable(2, 2), 1, "SET_MEM_TABLE needs 2 fds, got 1", false);
        rejects(memTable(2, 2), 3, "SET_MEM_TABLE needs 2 fds, got 3", false);
        rejects(memTable(1, 1, 0x1000, 0, 0x7f00_0000_0000L, 0), 1, "memory size 0 is empty", false);
        rejects(memTable(1, 1, 0x1000, -1L, 0x7f00_0000_0000L, 0), 1, "is beyond 2^63", false);
        rejects(memTable(1, 1, -0x1000, 0x2000, 0x7f00_0000_0000L, 0), 1, "guest address 0xfffffffffffff000", false);
        rejects(memTable(1, 1, 0, 0x2000, -0x1000L, 0), 1, "user address 0xfffffffffffff000", false);
        rejects(memTable(1, 1, 0, 0x2000, 0x1000, Long.MAX_VALUE - 0x1000), 1, "mmap offset", false);
        rejects(memTable(1, 1, 0, 0x2000, 0x1000, -4096), 1, "mmap offset", false);
    }

    @Test
    void replies() {
        List<Fd> none = List.of();
        assertInvalid(
                VhostUserCodec.decodeReply(
                        VhostUserRequest.GET_FEATURES, seg(message(15, V | VhostUserMessage.REPLY, 8, u64(1))), none),
                "while waiting for the reply to GET_FEATURES");
        assertInvalid(
                VhostUserCodec.decodeReply(VhostUserRequest.GET_FEATURES, seg(message(1, V, 8, u64(1))), none),
                "REPLY flag missing");
        assertInvalid(
                VhostUserCodec.decodeReply(
                        VhostUserRequest.GET_VRING_BASE,
                        seg(message(11, V | VhostUserMessage.REPLY, 4, new byte[4])),
                        none),
                "needs a 8-byte payload, got 4");
        assertInvalid(
                VhostUserCodec.decodeReply(
                        VhostUserRequest.SET_MEM_TABLE,
                        seg(message(5, V | VhostUserMessage.REPLY, 0, new byte[0])),
                        none),
                "needs a 8-byte payload, got 0");
        List<Fd> one = fds(1);
        assertInvalid(
                VhostUserCodec.decodeReply(
                        VhostUserRequest.GET_FEATURES, seg(message(1, V | VhostUserMessage.REPLY, 8, u64(1))), one),
                "reply carries 1 fds");
        one.forEach(fd -> assertFalse(fd.isOpen()));
    }

    // ------------------------------------------------------------------------------------

    private DecodeResult.Invalid rejects(byte[] bytes, int fdCount, String reason, boolean fatal) {
        List<Fd> fds = fds(fdCount);
        DecodeResult r = VhostUserCodec.decodeRequest(seg(bytes), fds);
        DecodeResult.Invalid inv = assertInvalid(r, reason);
        assertEquals(fatal, inv.fatal(), () -> "fatal: " + inv);
        fds.forEach(fd -> assertFalse(fd.isOpen(), () -> "fd left open after " + inv));
        return inv;
    }

    private static DecodeResult.Invalid assertInvalid(DecodeResult r, String reason) {
        DecodeResult.Invalid inv = assertInstanceOf(DecodeResult.Invalid.class, r, () -> "accepted: " + r);
        assertTrue(inv.reason().contains(reason), () -> "reason \"" + inv.reason() + "\" lacks \"" + reason + "\"");
        assertTrue(inv.toString().startsWith("invalid vhost-user message"), inv.toString());
        return inv;
    }

    private static List<Fd> fds(int n) {
        List<Fd> fds = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            fds.add(Posix.eventfd(0, Posix.EFD_CLOEXEC));
        }
        return fds;
    }

    static byte[] message(int request, int flags, int size, byte[] payload) {
        return ByteBuffer.allocate(12 + payload.length)
                .order(ByteOrder.nativeOrder())
                .putInt(request)
                .putInt(flags)
                .putInt(size)
                .put(payload)
                .array();
    }

    /** SET_MEM_TABLE announcing {@code n} regions with {@code present} well-formed regions in the payload. */
    private static byte[] memTable(int n, int present) {
        ByteBuffer b = ByteBuffer.allocate(8 + 32 * present)
                .order(ByteOrder.nativeOrder())
                .putInt(n)
                .putInt(0);
        for (int i = 0; i < present; i++) {
            b.putLong(i * 0x10000L)
                    .putLong(0x10000)
                    .putLong(0x7f00_0000_0000L + i * 0x10000L)
                    .putLong(0);
        }
        return message(5, V, b.capacity(), b.array());
    }

    private static byte[] memTable(int n, int present, long gpa, long size, long uva, long offset) {
        ByteBuffer b = ByteBuffer.allocate(8 + 32)
                .order(ByteOrder.nativeOrder())
                .putInt(n)
                .putInt(0)
                .putLong(gpa)
                .putLong(size)
                .putLong(uva)
                .putLong(offset);
        return message(5, V, b.capacity(), b.array());
    }

    private static byte[] u64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(v).array();
    }

    private static byte[] u32s(int a, int b) {
        return ByteBuffer.allocate(8)
                .order(ByteOrder.nativeOrder())
                .putInt(a)
                .putInt(b)
                .array();
    }

    private static MemorySegment seg(byte[] bytes) {
        return MemorySegment.ofArray(bytes);
    }
}
