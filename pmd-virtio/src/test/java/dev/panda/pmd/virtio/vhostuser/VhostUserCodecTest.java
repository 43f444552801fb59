package dev.panda.pmd.virtio.vhostuser;

import static dev.panda.pmd.virtio.vhostuser.VhostUserMessage.requestFlags;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.Bare;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.LogBase;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.LogFd;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemTable;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemoryRegion;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.U64;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringAddr;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringFd;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringState;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Encode then decode every request and reply; byte layouts pinned against the spec. */
class VhostUserCodecTest {

    /** A representative message for {@code request}, with fresh eventfds where it carries fds. */
    static VhostUserMessage sample(VhostUserRequest request, boolean needReply) {
        int flags = requestFlags(needReply);
        return switch (request) {
            case GET_FEATURES, SET_OWNER, RESET_OWNER, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM, GET_STATUS ->
                new Bare(request, flags);
            case SET_FEATURES -> new U64(request, flags, 0x1_4000_0000L | (1L << 32));
            case SET_PROTOCOL_FEATURES -> new U64(request, flags, 0x1_0203L);
            case SET_STATUS -> new U64(request, flags, 0x0f);
            case SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ENABLE, GET_VRING_BASE ->
                new VringState(request, flags, 1, request == VhostUserRequest.SET_VRING_NUM ? 256 : 0xfffe);
            case SET_VRING_ADDR ->
                new VringAddr(flags, 1, 1, 0x7f00_0000_1000L, 0x7f00_0000_3000L, 0x7f00_0000_2000L, 0x1_0000_4000L);
            case SET_VRING_KICK, SET_VRING_CALL -> new VringFd(request, flags, 255, eventfd());
            case SET_VRING_ERR -> new VringFd(request, flags, 3, null);
            case SET_MEM_TABLE -> {
                List<MemoryRegion> regions = new ArrayList<>();
                List<Fd> fds = new ArrayList<>();
                for (int i = 0; i < VhostUserMessage.MAX_REGIONS; i++) {
                    regions.add(new MemoryRegion(
                            i * 0x1000_0000L, 0x100_0000L + i, 0x7f00_0000_0000L + i * 0x1000_0000L, i * 4096L));
                    fds.add(eventfd());
                }
                yield new MemTable(flags, regions, fds);
            }
            case SET_LOG_BASE -> new LogBase(flags, 0x2000, 0x100, eventfd());
            case SET_LOG_FD -> new LogFd(flags, eventfd());
        };
    }

    private static Fd eventfd() {
        return Posix.eventfd(0, Posix.EFD_CLOEXEC);
    }

    @ParameterizedTest
    @EnumSource(VhostUserRequest.class)
    void everyRequestRoundTrips(VhostUserRequest request) {
        for (boolean needReply : new boolean[] {false, true}) {
            try (VhostUserMessage m = sample(request, needReply)) {
                byte[] bytes = VhostUserCodec.toBytes(m);
                assertEquals(VhostUserCodec.encodedSize(m), bytes.length);
                DecodeResult r = VhostUserCodec.decodeRequest(MemorySegment.ofArray(bytes), m.fds());
                DecodeResult.Ok ok = assertInstanceOf(DecodeResult.Ok.class, r, () -> r.toString());
                assertEquals(m, ok.message());
                assertEquals(request, ok.message().request());
                assertEquals(needReply, ok.message().needReply());
                assertFalse(ok.message().isReply());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(VhostUserRequest.class)
    void everyReplyRoundTrips(VhostUserRequest request) {
        VhostUserMessage reply = switch (request.reply()) {
            case VRING_STATE -> VringState.reply(request, 1, 0x1234);
            case U64 -> U64.reply(request, 0x1_0000_0000L | request.id());
            default -> U64.reply(request, 0); // REPLY_ACK: 0 is success
        };
        byte[] bytes = VhostUserCodec.toBytes(reply);
        DecodeResult r = VhostUserCodec.decodeReply(request, MemorySegment.ofArray(bytes), List.of());
        DecodeResult.Ok ok = assertInstanceOf(DecodeResult.Ok.class, r, () -> r.toString());
        assertEquals(reply, ok.message());
        assertTrue(ok.message().isReply());
        assertEquals(VhostUserMessage.HEADER_SIZE + 8, bytes.length, "u64 or vring state");
    }

    @Test
    void headerLayout() {
        // "Header": request u32, flags u32 (version 1), size u32, native byte order
        assertArrayEquals(
                ints(1, 1, 0), VhostUserCodec.toBytes(new Bare(VhostUserRequest.GET_FEATURES, requestFlags(false))));
        assertArrayEquals(
                ints(3, 0x9, 0), VhostUserCodec.toBytes(new Bare(VhostUserRequest.SET_OWNER, requestFlags(true))));
        ByteBuffer reply = buffer(VhostUserCodec.toBytes(U64.reply(VhostUserRequest.GET_FEATURES, 0x1_4000_0000L)));
        assertEquals(1, reply.getInt(0));
        assertEquals(0x5, reply.getInt(4), "version | REPLY");
        assertEquals(8, reply.getInt(8));
        assertEquals(0x1_4000_0000L, reply.getLong(12));
    }

    @Test
    void vringAddrLayout() {
        // "A vring address description": index, flags, descriptor, used, available, log
        ByteBuffer b = buffer(VhostUserCodec.toBytes(new VringAddr(requestFlags(false), 2, 1, 0xd, 0xe, 0xa, 0x1)));
        assertEquals(9, b.getInt(0));
        assertEquals(40, b.getInt(8));
        assertEquals(2, b.getInt(12));
        assertEquals(1, b.getInt(16));
        assertEquals(0xd, b.getLong(20));
        assertEquals(0xe, b.getLong(28));
        assertEquals(0xa, b.getLong(36));
        assertEquals(0x1, b.getLong(44));
    }

    @Test
    void memTableLayout() {
        try (VhostUserMessage m = new MemTable(
                requestFlags(false),
                List.of(
                        new MemoryRegion(0x1000, 0x2000, 0x3000, 0x4000),
                        new MemoryRegion(0x10000, 0x20000, 0x30000, 0)),
                List.of(eventfd(), eventfd()))) {
            // "Memory regions description": num regions, padding, then guest address, size, user address, mmap offset
            ByteBuffer b = buffer(VhostUserCodec.toBytes(m));
            assertEquals(5, b.getInt(0));
            assertEquals(8 + 2 * 32, b.getInt(8), "only the regions sent");
            assertEquals(2, b.getInt(12));
            assertEquals(0, b.getInt(16));
            assertEquals(0x1000, b.getLong(20));
            assertEquals(0x2000, b.getLong(28));
            assertEquals(0x3000, b.getLong(36));
            assertEquals(0x4000, b.getLong(44));
            assertEquals(0x10000, b.getLong(52));
        }
    }

    @Test
    void vringFdPayloadCarriesIndexAndNofd() {
        // "Bits (0-7) of the payload contain the vring index. Bit 8 is the invalid FD flag."
        assertEquals(
                0x103,
                buffer(VhostUserCodec.toBytes(sample(VhostUserRequest.SET_VRING_ERR, false)))
                        .getLong(12));
        try (VhostUserMessage kick = sample(VhostUserRequest.SET_VRING_KICK, false)) {
            assertEquals(0xff, buffer(VhostUserCodec.toBytes(kick)).getLong(12));
            assertEquals(1, kick.fds().size());
        }
    }

    @Test
    void closingAReceivedMessageClosesItsFds() {
        VhostUserMessage m = sample(VhostUserRequest.SET_MEM_TABLE, false);
        List<Fd> fds = m.fds();
        m.close();
        fds.forEach(fd -> assertFalse(fd.isOpen()));
        m.close();
    }

    @Test
    void constructorsRefuseWhatTheWireCannotSay() {
        int f = requestFlags(false);
        assertThrows(IllegalArgumentException.class, () -> new Bare(VhostUserRequest.SET_FEATURES, f));
        assertThrows(IllegalArgumentException.class, () -> new Bare(VhostUserRequest.GET_FEATURES, 0));
        assertThrows(IllegalArgumentException.class, () -> new U64(VhostUserRequest.GET_FEATURES, f, 1));
        assertThrows(IllegalArgumentException.class, () -> VringState.reply(VhostUserRequest.GET_FEATURES, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new VringFd(VhostUserRequest.SET_VRING_KICK, f, 256, null));
        assertThrows(IllegalArgumentException.class, () -> new VringFd(VhostUserRequest.SET_VRING_NUM, f, 0, null));
        assertThrows(IllegalArgumentException.class, () -> new MemTable(f, List.of(), List.of()));
        assertThrows(
                IllegalArgumentException.class,
                () -> new MemTable(f, List.of(new MemoryRegion(0, 1, 0, 0)), List.of()));
        assertThrows(IllegalArgumentException.class, () -> new LogFd(f, null));
        assertThrows(
                IllegalArgumentException.class,
                () -> new Bare(VhostUserRequest.GET_FEATURES, VhostUserMessage.replyFlags()));
    }

    @Test
    void requestNumbersMatchTheSpec() {
        // "Front-end message types": ids
        assertEquals(1, VhostUserRequest.GET_FEATURES.id());
        assertEquals(5, VhostUserRequest.SET_MEM_TABLE.id());
        assertEquals(11, VhostUserRequest.GET_VRING_BASE.id());
        assertEquals(15, VhostUserRequest.GET_PROTOCOL_FEATURES.id());
        assertEquals(18, VhostUserRequest.SET_VRING_ENABLE.id());
        assertEquals(39, VhostUserRequest.SET_STATUS.id());
        assertEquals(40, VhostUserRequest.GET_STATUS.id());
        for (VhostUserRequest r : VhostUserRequest.values()) {
            assertEquals(r, VhostUserRequest.byId(r.id()));
        }
        assertEquals(null, VhostUserRequest.byId(19));
        assertEquals(null, VhostUserRequest.byId(-1));
        assertEquals(null, VhostUserRequest.byId(1000));
    }

    private static byte[] ints(int... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.nativeOrder());
        for (int v : values) {
            b.putInt(v);
        }
        return b.array();
    }

    private static ByteBuffer buffer(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder());
    }
}
