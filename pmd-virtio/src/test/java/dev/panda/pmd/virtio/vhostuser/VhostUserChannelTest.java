package dev.panda.pmd.virtio.vhostuser;

import static dev.panda.pmd.virtio.vhostuser.HostileMessageTest.message;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.U64;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringFd;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.VringState;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Messages and their descriptors over a socketpair: front-end and back-end sides of one connection. */
class VhostUserChannelTest {

    private long fdsBefore;
    private VhostUserChannel frontEnd;
    private VhostUserChannel backEnd;

    @BeforeEach
    void connect() {
        fdsBefore = Leaks.openFds();
        UnixSocket[] pair = UnixSocket.pair();
        frontEnd = new VhostUserChannel(pair[0]);
        backEnd = new VhostUserChannel(pair[1]);
    }

    @AfterEach
    void closeAndCount() {
        frontEnd.close();
        backEnd.close();
        assertEquals(fdsBefore, Leaks.openFds(), "descriptors leaked");
    }

    @Test
    void everyRequestCrossesWithItsFds() {
        for (VhostUserRequest r : VhostUserRequest.values()) {
            try (VhostUserMessage sent = VhostUserCodecTest.sample(r, true)) {
                frontEnd.send(sent);
                DecodeResult got = backEnd.readRequest();
                DecodeResult.Ok ok = assertInstanceOf(DecodeResult.Ok.class, got, () -> r + ": " + got);
                try (VhostUserMessage received = ok.message()) {
                    assertEquals(sent.request(), received.request());
                    assertEquals(sent.flags(), received.flags());
                    assertEquals(sent.fds().size(), received.fds().size());
                    assertArrayEquals(
                            VhostUserCodec.toBytes(sent), VhostUserCodec.toBytes(received), r + " changed on the way");
                }
            }
        }
    }

    @Test
    void kickFdWorksOnTheOtherSide() {
        try (Fd kick = Posix.eventfd(0, Posix.EFD_CLOEXEC | Posix.EFD_NONBLOCK)) {
            frontEnd.send(new VringFd(VhostUserRequest.SET_VRING_KICK, VhostUserMessage.requestFlags(false), 1, kick));
            VringFd got = (VringFd) ((DecodeResult.Ok) backEnd.readRequest()).message();
            try (got) {
                assertNotEquals(kick.value(), got.fd().value());
                Posix.eventfdWrite(got.fd(), 3);
                assertEquals(3, Posix.eventfdRead(kick), "the back-end's fd is the front-end's eventfd");
            }
        }
    }

    @Test
    void repliesGoBack() {
        frontEnd.send(new VhostUserMessage.Bare(VhostUserRequest.GET_FEATURES, VhostUserMessage.requestFlags(false)));
        assertInstanceOf(DecodeResult.Ok.class, backEnd.readRequest());
        backEnd.send(U64.reply(VhostUserRequest.GET_FEATURES, 1L << 30));
        assertEquals(
                U64.reply(VhostUserRequest.GET_FEATURES, 1L << 30),
                ((DecodeResult.Ok) frontEnd.readReply(VhostUserRequest.GET_FEATURES)).message());
        backEnd.send(VringState.reply(VhostUserRequest.GET_VRING_BASE, 0, 77));
        assertEquals(
                VringState.reply(VhostUserRequest.GET_VRING_BASE, 0, 77),
                ((DecodeResult.Ok) frontEnd.readReply(VhostUserRequest.GET_VRING_BASE)).message());
    }

    @Test
    void cleanCloseBetweenMessages() {
        frontEnd.close();
        assertInstanceOf(DecodeResult.Closed.class, backEnd.readRequest());
    }

    @Test
    void closeMidHeaderIsFatal() {
        frontEnd.socket().send(MemorySegment.ofArray(new byte[7]), List.of());
        frontEnd.close();
        DecodeResult.Invalid inv = assertInstanceOf(DecodeResult.Invalid.class, backEnd.readRequest());
        assertTrue(inv.fatal() && inv.reason().contains("after 7 of 12 header bytes"), inv.toString());
    }

    @Test
    void closeMidPayloadIsFatalAndClosesTheFds() {
        List<Fd> fds = eventfds(2);
        byte[] whole = message(5, 1, 72, new byte[72]);
        frontEnd.socket().send(MemorySegment.ofArray(whole).asSlice(0, 30), fds);
        fds.forEach(Fd::close);
        frontEnd.close();
        DecodeResult.Invalid inv = assertInstanceOf(DecodeResult.Invalid.class, backEnd.readRequest());
        assertTrue(inv.fatal() && inv.reason().contains("after 18 of 72 payload bytes"), inv.toString());
    }

    @Test
    void oversizedPayloadIsFatalBeforeReadingIt() {
        List<Fd> fds = eventfds(1);
        frontEnd.socket().send(MemorySegment.ofArray(message(2, 1, 1 << 20, new byte[0])), fds);
        fds.forEach(Fd::close);
        DecodeResult.Invalid inv = assertInstanceOf(DecodeResult.Invalid.class, backEnd.readRequest());
        assertTrue(inv.fatal() && inv.reason().contains("above the cap"), inv.toString());
    }

    @Test
    void unknownRequestIsSkippedAndTheStreamStaysInStep() {
        frontEnd.socket()
                .send(
                        MemorySegment.ofArray(message(24, 1 | VhostUserMessage.NEED_REPLY, 268, new byte[268])),
                        List.of());
        frontEnd.send(new VhostUserMessage.Bare(VhostUserRequest.GET_QUEUE_NUM, VhostUserMessage.requestFlags(false)));
        DecodeResult.Invalid inv = assertInstanceOf(DecodeResult.Invalid.class, backEnd.readRequest());
        assertTrue(!inv.fatal() && inv.needReply() && inv.request() == 24, inv.toString());
        DecodeResult.Ok ok = assertInstanceOf(DecodeResult.Ok.class, backEnd.readRequest());
        assertEquals(VhostUserRequest.GET_QUEUE_NUM, ok.message().request());
    }

    @Test
    void moreThanEightFdsInPiecesAreDroppedAndTheMessageRejected() {
        List<Fd> first = eventfds(8);
        List<Fd> second = eventfds(8);
        byte[] whole = message(5, 1, 8 + 8 * 32, new byte[8 + 8 * 32]);
        frontEnd.socket().send(MemorySegment.ofArray(whole).asSlice(0, 12), first);
        frontEnd.socket().send(MemorySegment.ofArray(whole).asSlice(12), second);
        first.forEach(Fd::close);
        second.forEach(Fd::close);
        DecodeResult.Invalid inv = assertInstanceOf(DecodeResult.Invalid.class, backEnd.readRequest());
        assertTrue(!inv.fatal() && inv.reason().contains("more than 8 fds"), inv.toString());
    }

    @Test
    void fdsSplitAcrossHeaderAndPayloadStillCount() {
        List<Fd> first = eventfds(1);
        List<Fd> second = eventfds(1);
        byte[] whole = message(5, 1, 8 + 2 * 32, new byte[8 + 2 * 32]);
        MemorySegment.ofArray(whole).set(ValueLayout.JAVA_INT_UNALIGNED, 12, 2);
        for (int i = 0; i < 2; i++) {
            MemorySegment.ofArray(whole).set(ValueLayout.JAVA_LONG_UNALIGNED, 20 + 32 * i + 8, 4096);
            MemorySegment.ofArray(whole).set(ValueLayout.JAVA_LONG_UNALIGNED, 20 + 32 * i, 4096L * i);
            MemorySegment.ofArray(whole).set(ValueLayout.JAVA_LONG_UNALIGNED, 20 + 32 * i + 16, 4096L * i);
        }
        frontEnd.socket().send(MemorySegment.ofArray(whole).asSlice(0, 12), first);
        frontEnd.socket().send(MemorySegment.ofArray(whole).asSlice(12), second);
        first.forEach(Fd::close);
        second.forEach(Fd::close);
        DecodeResult got = backEnd.readRequest();
        DecodeResult.Ok ok = assertInstanceOf(DecodeResult.Ok.class, got, got::toString);
        assertEquals(2, ok.message().fds().size());
        ok.message().close();
    }

    private static List<Fd> eventfds(int n) {
        List<Fd> fds = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            fds.add(Posix.eventfd(0, Posix.EFD_CLOEXEC));
        }
        return fds;
    }
}
