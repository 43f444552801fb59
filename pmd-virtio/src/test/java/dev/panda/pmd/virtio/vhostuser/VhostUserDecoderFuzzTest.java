package dev.panda.pmd.virtio.vhostuser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panda.jextract.Fd;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the vhost-user decoder with arbitrary bytes as the message. Input: byte 0 picks how
 * many descriptors come with it (0-10, duplicates of one memfd), byte 1 which reply the
 * front-end side waits for, the rest is the message. Each input is decoded as a request, as a
 * reply, and read through a {@link VhostUserChannel} from a socket that carries it; nothing may
 * throw and no descriptor may stay open.
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code VhostUserDecoderFuzzTestInputs/} run.
 */
class VhostUserDecoderFuzzTest {

    private static final int MAX_FDS = 10;
    private static Fd memfd;
    private static UnixSocket dupFrom;
    private static UnixSocket dupTo;

    @BeforeAll
    static void open() {
        memfd = Leaks.memfd("fuzz", 4096);
        UnixSocket[] pair = UnixSocket.pair();
        dupFrom = pair[0];
        dupTo = pair[1];
    }

    @AfterAll
    static void close() {
        dupFrom.close();
        dupTo.close();
        memfd.close();
    }

    @FuzzTest(maxDuration = "10s")
    void decode(byte[] input) {
        if (input.length < 2) {
            return;
        }
        long before = Leaks.openFds();
        int n = (input[0] & 0xff) % (MAX_FDS + 1);
        VhostUserRequest[] requests = VhostUserRequest.values();
        VhostUserRequest expected = requests[(input[1] & 0xff) % requests.length];
        byte[] message = Arrays.copyOfRange(input, 2, input.length);

        List<Fd> fds = dups(n);
        check(VhostUserCodec.decodeRequest(MemorySegment.ofArray(message), fds), fds, message);
        fds = dups(n);
        check(VhostUserCodec.decodeReply(expected, MemorySegment.ofArray(message), fds), fds, message);
        overSocket(message, Math.min(n, UnixSocket.MAX_FDS));

        assertEquals(before, Leaks.openFds(), "descriptors leaked");
    }

    /** Ok: the message owns exactly the fds and re-encodes to the input; Invalid: the fds are closed. */
    private static void check(DecodeResult result, List<Fd> fds, byte[] message) {
        switch (result) {
            case DecodeResult.Ok ok -> {
                try (VhostUserMessage m = ok.message()) {
                    assertEquals(fds.size(), m.fds().size(), "fds not taken one for one");
                    m.fds().forEach(fd -> assertTrue(fd.isOpen()));
                    byte[] expected = message.clone();
                    if (m instanceof VhostUserMessage.MemTable) {
                        Arrays.fill(expected, 16, 20, (byte) 0); // padding is not kept
                    }
                    assertArrayEquals(expected, VhostUserCodec.toBytes(m), "decode then encode changed " + m);
                }
                fds.forEach(fd -> assertFalse(fd.isOpen()));
            }
            case DecodeResult.Invalid invalid -> {
                assertFalse(invalid.reason().isEmpty());
                assertFalse(invalid.reason().startsWith("decoder failed"), invalid.reason());
                fds.forEach(fd -> assertFalse(fd.isOpen(), () -> "fd left open by " + invalid));
            }
            case DecodeResult.Closed closed -> throw new AssertionError("a buffer cannot be closed");
        }
    }

    /** The message over a socket, with {@code n} copies of the memfd, then end of stream. */
    private static void overSocket(byte[] message, int n) {
        if (message.length == 0 || message.length > 32 * 1024) {
            return; // nothing to carry fds; or more than a socket buffer holds without a reader
        }
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0];
                VhostUserChannel channel = new VhostUserChannel(pair[1])) {
            a.send(MemorySegment.ofArray(message), Collections.nCopies(n, memfd));
            a.shutdown();
            for (int i = 0; i <= message.length / VhostUserMessage.HEADER_SIZE + 1; i++) {
                DecodeResult r = channel.readRequest();
                if (r instanceof DecodeResult.Ok ok) {
                    ok.message().close();
                } else if (r instanceof DecodeResult.Closed || ((DecodeResult.Invalid) r).fatal()) {
                    return;
                }
            }
            throw new AssertionError("the channel read more messages than the bytes hold");
        }
    }

    /** {@code n} new descriptors for the memfd, the way a peer's arrive: through SCM_RIGHTS. */
    private static List<Fd> dups(int n) {
        List<Fd> fds = new ArrayList<>();
        byte[] one = new byte[1];
        while (fds.size() < n) {
            int k = Math.min(n - fds.size(), UnixSocket.MAX_FDS);
            dupFrom.send(MemorySegment.ofArray(one), Collections.nCopies(k, memfd));
            UnixSocket.Received r = dupTo.recv(MemorySegment.ofArray(one), UnixSocket.MAX_FDS);
            fds.addAll(r.fds());
        }
        return fds;
    }
}
