package dev.panda.vswitch.openflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.lang.management.ManagementFactory;

/**
 * Any bytes from an untrusted peer: {@link OfDecoder#decode} gives a message or a typed
 * {@link OfError} (never another exception) without allocating more than a small multiple of what
 * it was given (the least of three decodes of the same bytes); a decoded FLOW_MOD or PACKET_OUT translates to the flow model or is refused with
 * an {@link OfError}. Then the same bytes through a connection's own handlers (framer and session
 * over a fake bridge) in an {@link EmbeddedChannel}: no exception escapes, and everything written
 * back is whole OpenFlow 1.3 messages (version 4, each length covering its bytes exactly).
 *
 * <p>Without {@code JAZZER_FUZZ=1} only the seeds in {@code OfDecoderFuzzTestInputs/} run.
 */
class OfDecoderFuzzTest {

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    @FuzzTest(maxDuration = "30s")
    void anyBytesDecodeOrFailTyped(byte[] input) {
        // the least of three decodes of the same bytes: class loading, instrumentation and the
        // fuzzer's own hooks allocate on the first runs, the decoder the same every time
        long allocated = Long.MAX_VALUE;
        OfMessage m = null;
        for (int i = 0; i < 3; i++) {
            long before = THREADS.getCurrentThreadAllocatedBytes();
            m = null;
            try {
                m = OfDecoder.decode(input);
            } catch (OfError e) {
                assertTrue(e.type() >= 0 && e.type() <= 13, e.toString());
            } catch (RuntimeException e) {
                fail("decode threw " + e, e);
            }
            allocated = Math.min(allocated, THREADS.getCurrentThreadAllocatedBytes() - before);
        }
        assertTrue(
                allocated <= 64L * input.length + (256 << 10),
                allocated + " bytes allocated decoding " + input.length + " bytes");
        try {
            if (m instanceof OfMessage.FlowMod f) {
                FlowTranslation.flowMod(f);
            } else if (m instanceof OfMessage.PacketOut p) {
                FlowTranslation.actions(p.actions());
            } else if (m instanceof OfMessage.FlowStatsRequest r) {
                FlowTranslation.filter(r);
            }
        } catch (OfError e) {
            // refused: fine
        } catch (RuntimeException e) {
            fail("translation threw " + e, e);
        }

        FakeDatapath dp = new FakeDatapath("br0", 2);
        OfChannelCounters counters = new OfChannelCounters();
        EmbeddedChannel ch = new EmbeddedChannel();
        OpenFlowService.handlers(
                ch, new OfSession(dp, counters, false, null, Runnable::run, () -> {}, () -> {}), 60_000);
        ch.pipeline().fireChannelActive();
        // a valid hello first (as every peer must), then the bytes
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 16}));
        try {
            ch.writeInbound(Unpooled.wrappedBuffer(input));
            ch.checkException();
        } catch (RuntimeException e) {
            fail("the pipeline threw " + e, e);
        }
        ByteBuf out = Unpooled.buffer();
        Object o;
        while ((o = ch.readOutbound()) != null) {
            ByteBuf b = (ByteBuf) o;
            out.writeBytes(b);
            b.release();
        }
        int messages = 0;
        while (out.isReadable()) {
            assertTrue(out.readableBytes() >= 8, "a cut message");
            assertEquals(4, out.getUnsignedByte(out.readerIndex()), "version");
            int len = out.getUnsignedShort(out.readerIndex() + 2);
            assertTrue(len >= 8 && len <= out.readableBytes(), "length " + len);
            out.skipBytes(len);
            messages++;
        }
        assertTrue(messages >= 1, "the hello was sent");
        out.release();
        ch.finishAndReleaseAll();
    }
}
