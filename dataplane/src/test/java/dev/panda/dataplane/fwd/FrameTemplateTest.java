package dev.panda.dataplane.fwd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.Ports;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.LongConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The template's frame lands in a buffer whatever another user of the pool left in it: garbage,
 * the same frame, or the same frame with one byte changed anywhere. Only a buffer nobody else
 * allocated since the template wrote it keeps its payload unwritten.
 */
class FrameTemplateTest {

    private PacketPool pool;
    private Port port;
    private MemorySegment mem;

    @BeforeEach
    void open() {
        pool = PacketPool.create(PoolConfig.defaults().withCount(64).withHugepages(PoolConfig.Hugepages.OFF));
        port = Ports.discover().open("net_ring7", PortContext.of(pool, 0));
        mem = pool.segment();
    }

    @AfterEach
    void close() {
        port.close();
        pool.close();
    }

    private byte[] frame(int h) {
        return mem.asSlice(pool.dataOffset(h), pool.length(h)).toArray(ValueLayout.JAVA_BYTE);
    }

    private FwdStream stream(int len) {
        return new FwdStream(
                0, port, 0, 0, port, 0, 0, pool, FwdConfig.defaults().withTxPacketLen(len));
    }

    /**
     * Frees h and lets "someone else" allocate it and write into it ({@code write} gets the data
     * offset), then allocates it again.
     */
    private int reusedByAnother(int h, LongConsumer write) {
        pool.free(h);
        int other = pool.alloc();
        assertEquals(h, other, "the pool hands back the buffer just freed");
        write.accept(pool.dataOffset(other));
        pool.free(other);
        int again = pool.alloc();
        assertEquals(h, again);
        return again;
    }

    @ParameterizedTest
    @ValueSource(ints = {64, FrameTemplate.COMPARE_FROM - 1, FrameTemplate.COMPARE_FROM, 1500, 1514})
    void everyBufferGetsTheTemplateWhateverAnotherUserLeftInIt(int len) {
        FwdStream s = stream(len);
        FrameTemplate t = new FrameTemplate(s);
        int h = pool.alloc();
        long f = pool.dataOffset(h);
        t.writeTo(s, h, 3, 0);
        byte[] first = frame(h);
        assertEquals(len, first.length);
        assertTrue(PayloadStamp.verify(mem, f + Packets.PAYLOAD, len - Packets.PAYLOAD));

        // garbage everywhere, written by a user that allocated the buffer after us
        h = reusedByAnother(h, off -> mem.asSlice(off, len).fill((byte) 0xa5));
        t.writeTo(s, h, 3, 0);
        assertEquals(-1L, MemorySegment.ofArray(first).mismatch(MemorySegment.ofArray(frame(h))));

        // one byte changed by another user: in the headers, the stamp, right after it, the middle, the last
        for (int at : new int[] {0, 20, Packets.PAYLOAD + 3, Packets.PAYLOAD + PayloadStamp.SIZE, len / 2, len - 1}) {
            h = reusedByAnother(
                    h,
                    off -> mem.set(ValueLayout.JAVA_BYTE, off + at, (byte) ~mem.get(ValueLayout.JAVA_BYTE, off + at)));
            t.writeTo(s, h, 3, 0);
            assertEquals(-1L, MemorySegment.ofArray(first).mismatch(MemorySegment.ofArray(frame(h))), "byte " + at);
        }

        // our own buffer again (nobody allocated it in between): restamped, and it verifies
        pool.free(h);
        h = pool.alloc();
        t.writeTo(s, h, 3, 1);
        assertEquals(3, PayloadStamp.stream(mem, f + Packets.PAYLOAD));
        assertEquals(1, PayloadStamp.seq(mem, f + Packets.PAYLOAD));
        assertTrue(PayloadStamp.verify(mem, f + Packets.PAYLOAD, len - Packets.PAYLOAD));
        t.writeTimedTo(s, h, 12345L);
        assertTrue(PayloadStamp.timed(mem, f + Packets.PAYLOAD, len - Packets.PAYLOAD));
        assertEquals(12345L, PayloadStamp.nanos(mem, f + Packets.PAYLOAD));
        assertTrue(PayloadStamp.verify(mem, f + Packets.PAYLOAD, len - Packets.PAYLOAD));
        pool.free(h);
    }

    @ParameterizedTest
    @ValueSource(ints = {FrameTemplate.COMPARE_FROM, 1500})
    void aBufferNobodyElseAllocatedKeepsItsPayloadUnwritten(int len) {
        FwdStream s = stream(len);
        FrameTemplate t = new FrameTemplate(s);
        int h = pool.alloc();
        long f = pool.dataOffset(h);
        t.writeTo(s, h, 3, 0);
        pool.free(h);
        h = pool.alloc();
        // The pool's contract: nobody writes past the headers of a buffer they did not allocate.
        // A write that breaks it (here, in the payload's last byte) is what the template does not
        // look at again, and a verifying sink's digest check is what would catch it.
        mem.set(ValueLayout.JAVA_BYTE, f + len - 1, (byte) ~mem.get(ValueLayout.JAVA_BYTE, f + len - 1));
        mem.set(ValueLayout.JAVA_BYTE, f + 6, (byte) 0x77); // a header byte: always rewritten
        t.writeTo(s, h, 3, 1);
        assertTrue(mem.get(ValueLayout.JAVA_BYTE, f + 6) != (byte) 0x77, "headers are written every time");
        assertFalse(PayloadStamp.verify(mem, f + Packets.PAYLOAD, len - Packets.PAYLOAD), "payload left as it was");
        pool.free(h);
    }
}
