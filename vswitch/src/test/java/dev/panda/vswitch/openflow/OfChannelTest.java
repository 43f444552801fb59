package dev.panda.vswitch.openflow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The channel against a hand-driven peer on loopback: version negotiation, typed errors carrying
 * the offending message's first 64 bytes, framing errors, multipart replies split with
 * REPLY_MORE, roles, barriers, PACKET_IN delivery, and an active connection's inactivity probe,
 * reconnection with backoff and the fail-mode signal.
 */
class OfChannelTest {

    OpenFlowService service;

    @AfterEach
    void stop() {
        if (service != null) {
            service.close();
        }
    }

    /** A peer speaking raw OpenFlow over a socket. */
    static final class Peer implements AutoCloseable {
        final Socket s;
        final DataInputStream in;
        final OutputStream out;

        Peer(Socket s) throws IOException {
            this.s = s;
            s.setSoTimeout(5000);
            this.in = new DataInputStream(s.getInputStream());
            this.out = s.getOutputStream();
        }

        byte[] read() throws IOException {
            byte[] h = new byte[8];
            in.readFully(h);
            int len = ((h[2] & 0xff) << 8) | (h[3] & 0xff);
            byte[] m = Arrays.copyOf(h, len);
            in.readFully(m, 8, len - 8);
            return m;
        }

        void send(byte[] m) throws IOException {
            out.write(m);
            out.flush();
        }

        @Override
        public void close() throws IOException {
            s.close();
        }
    }

    static byte[] msg(int version, int type, int xid, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(8 + body.length);
        b.put((byte) version)
                .put((byte) type)
                .putShort((short) (8 + body.length))
                .putInt(xid)
                .put(body);
        return b.array();
    }

    static byte[] hello13() {
        return msg(4, 0, 1, new byte[] {0, 1, 0, 8, 0, 0, 0, 0x10});
    }

    static int type(byte[] m) {
        return m[1] & 0xff;
    }

    static int xid(byte[] m) {
        return ByteBuffer.wrap(m).getInt(4);
    }

    FakeDatapath passive(int ports) {
        service = new OpenFlowService();
        FakeDatapath dp = new FakeDatapath("br0", ports);
        service.configure(dp, List.of(ControllerTarget.parse("ptcp:0")));
        return dp;
    }

    Peer connect() throws IOException {
        Peer p = new Peer(new Socket("127.0.0.1", service.boundPort("br0", ControllerTarget.parse("ptcp:0"))));
        byte[] hello = p.read();
        assertEquals(0, type(hello));
        assertEquals(4, hello[0]);
        return p;
    }

    @Test
    void aPeerWithoutOpenFlow13GetsHelloFailedAndIsClosed() throws Exception {
        passive(1);
        try (Peer p = connect()) {
            p.send(msg(1, 0, 7, new byte[0])); // OpenFlow 1.0, no bitmap: versions up to 1.0
            byte[] err = p.read();
            assertEquals(1, type(err));
            assertEquals(7, xid(err));
            assertEquals(0, ByteBuffer.wrap(err).getShort(8)); // HELLO_FAILED
            assertEquals(0, ByteBuffer.wrap(err).getShort(10)); // INCOMPATIBLE
            assertTrue(new String(err, 12, err.length - 12).contains("1.3"));
            assertEquals(-1, p.in.read(), "closed");
        }
        assertEquals(1, service.counters().snapshot().get("hello_failed"));
    }

    @Test
    void aBitmapWith13IsAcceptedAndEchoBarrierRoleFeaturesAnswer() throws Exception {
        passive(2);
        try (Peer p = connect()) {
            // versions 1.0 and 1.3 offered (bitmap 0x12), header version 1.0 as ovs-ofctl may send
            p.send(msg(1, 0, 1, new byte[] {0, 1, 0, 8, 0, 0, 0, 0x12}));
            p.send(msg(4, 2, 42, new byte[] {1, 2, 3}));
            byte[] echo = p.read();
            assertEquals(3, type(echo));
            assertEquals(42, xid(echo));
            assertArrayEquals(new byte[] {1, 2, 3}, Arrays.copyOfRange(echo, 8, 11));
            p.send(msg(4, 24, 43, new byte[] {0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9})); // MASTER
            byte[] role = p.read();
            assertEquals(25, type(role));
            assertEquals(1, ByteBuffer.wrap(role).getInt(8), "every peer is EQUAL");
            assertEquals(9, ByteBuffer.wrap(role).getLong(16));
            p.send(msg(4, 5, 44, new byte[0]));
            byte[] features = p.read();
            assertEquals(6, type(features));
            assertEquals(0x5a5a00000001L, ByteBuffer.wrap(features).getLong(8));
            p.send(msg(4, 20, 45, new byte[0]));
            assertEquals(21, type(p.read()));
        }
    }

    @Test
    void refusedMessagesGetTypedErrorsWithTheirFirst64Bytes() throws Exception {
        passive(1);
        try (Peer p = connect()) {
            p.send(hello13());
            byte[] group = msg(4, 15, 9, new byte[100]); // GROUP_MOD: not done here
            p.send(group);
            byte[] err = p.read();
            assertEquals(1, type(err));
            assertEquals(9, xid(err));
            assertEquals(1, ByteBuffer.wrap(err).getShort(8)); // BAD_REQUEST
            assertEquals(1, ByteBuffer.wrap(err).getShort(10)); // BAD_TYPE
            assertArrayEquals(Arrays.copyOf(group, 64), Arrays.copyOfRange(err, 12, err.length));
            // a flow mod whose match has an unknown field: BAD_MATCH/BAD_FIELD
            ByteBuffer fm = ByteBuffer.allocate(48 + 8 + 8 - 8);
            fm.putLong(0)
                    .putLong(0)
                    .put((byte) 0)
                    .put((byte) 0)
                    .putShort((short) 0)
                    .putShort((short) 0);
            fm.putShort((short) 1)
                    .putInt(-1)
                    .putInt(-1)
                    .putInt(-1)
                    .putShort((short) 0)
                    .putShort((short) 0);
            fm.putShort((short) 1).putShort((short) 8).putInt((0x8000 << 16) | (60 << 9) | 0); // field 60, len 0
            p.send(msg(4, 14, 10, fm.array()));
            err = p.read();
            assertEquals(10, xid(err));
            assertEquals(4, ByteBuffer.wrap(err).getShort(8)); // BAD_MATCH
            assertEquals(6, ByteBuffer.wrap(err).getShort(10)); // BAD_FIELD
            // the connection is still good
            p.send(msg(4, 20, 11, new byte[0]));
            assertEquals(21, type(p.read()));
        }
        assertEquals(2, service.counters().snapshot().get("decode_errors"));
    }

    @Test
    void aLengthShorterThanTheHeaderClosesTheConnection() throws Exception {
        passive(1);
        try (Peer p = connect()) {
            p.send(hello13());
            p.send(new byte[] {4, 2, 0, 2, 0, 0, 0, 1});
            try {
                while (true) {
                    p.read();
                }
            } catch (EOFException | java.net.SocketException e) {
                // closed
            }
        }
        assertTrue(service.counters().snapshot().get("decode_errors") >= 1);
    }

    @Test
    void aLengthOfFourToSevenClosesTheConnectionToo() throws Exception {
        passive(1);
        try (Peer p = connect()) {
            p.send(hello13());
            p.send(new byte[] {4, 2, 0, 4}); // a "message" of its header's first half
            byte[] err = p.read();
            assertEquals(1, type(err));
            assertEquals(1, ByteBuffer.wrap(err).getShort(8)); // BAD_REQUEST
            assertEquals(6, ByteBuffer.wrap(err).getShort(10)); // BAD_LEN
            assertClosed(p);
        }
        assertEquals(1, service.counters().snapshot().get("decode_errors"));
    }

    /** Reads until the switch closes the connection; fails if it does not within the read timeout. */
    static void assertClosed(Peer p) throws IOException {
        try {
            while (true) {
                p.read();
            }
        } catch (EOFException | java.net.SocketException e) {
            // closed
        }
    }

    @Test
    void aPeerThatDoesNotReadIsNotAnsweredIntoUnboundedMemoryAndLosesNoAnswer() throws Exception {
        FakeDatapath dp = passive(1500); // a PORT_STATS reply of 1500 * 112 bytes, three messages
        int port = service.boundPort("br0", ControllerTarget.parse("ptcp:0"));
        Socket s = new Socket();
        s.setReceiveBufferSize(64 * 1024);
        s.connect(new java.net.InetSocketAddress("127.0.0.1", port));
        try (Peer p = new Peer(s)) {
            assertEquals(0, type(p.read()));
            p.send(hello13());
            p.send(msg(4, 9, 2, new byte[] {0, 0, (byte) 0xff, (byte) 0xff})); // SET_CONFIG: wants PACKET_INs
            int requests = 400; // 9.6 KB of requests asking for 67 MB of answers
            java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
            for (int i = 0; i < requests; i++) {
                all.write(msg(4, 18, 1000 + i, new byte[] {0, 4, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, 0, 0, 0, 0}));
            }
            p.send(all.toByteArray());
            int done;
            int before;
            do { // until the switch stops carrying them out
                before = dp.portStatsCalls.get();
                Thread.sleep(300);
                done = dp.portStatsCalls.get();
            } while (done != before || done == 0);
            assertTrue(done < requests / 2, done + " of " + requests + " answered to a peer that reads nothing");
            // a packet-in for it meanwhile is dropped and counted, not queued behind the answers
            dp.packetIns.add(new byte[60]);
            long t0 = System.nanoTime();
            while (service.counters().snapshot().get("async_dropped") == 0 && System.nanoTime() - t0 < 5e9) {
                Thread.sleep(10);
            }
            assertEquals(1, service.counters().snapshot().get("async_dropped"));
            // once it reads, every request is answered, in order
            for (int i = 0; i < requests; i++) {
                int ports = 0;
                while (true) {
                    byte[] r = p.read();
                    assertEquals(19, type(r), "a PORT_STATS reply");
                    assertEquals(1000 + i, xid(r));
                    ports += (r.length - 16) / 112;
                    if ((ByteBuffer.wrap(r).getShort(10) & 1) == 0) {
                        break;
                    }
                }
                assertEquals(1500, ports);
            }
            assertEquals(requests, dp.portStatsCalls.get());
        }
    }

    @Test
    void aHelloThenAnImmediateCloseLeavesNoControllerConnected() {
        // the session on a channel driven by hand, with an executor the test runs when it likes
        java.util.ArrayDeque<Runnable> tasks = new java.util.ArrayDeque<>();
        int[] ready = new int[1];
        int[] closed = new int[1];
        OfSession s = new OfSession(
                new FakeDatapath("br0", 1),
                new OfChannelCounters(),
                true,
                null,
                tasks::add,
                () -> ready[0]++,
                () -> closed[0]++);
        io.netty.channel.embedded.EmbeddedChannel ch = new io.netty.channel.embedded.EmbeddedChannel(s);
        ch.writeInbound(io.netty.buffer.Unpooled.wrappedBuffer(hello13()));
        ch.close();
        while (!tasks.isEmpty()) {
            tasks.poll().run();
        }
        assertEquals(1, ready[0], "the hello was carried out");
        assertEquals(ready[0], closed[0], "and so was the close after it");
        ch.finishAndReleaseAll();
    }

    @Test
    void connectionsAcceptedByARemovedListenerAreClosed() throws Exception {
        FakeDatapath dp = passive(1);
        try (Peer p = connect()) {
            p.send(hello13());
            p.send(msg(4, 5, 3, new byte[0]));
            assertEquals(6, type(p.read()));
            service.configure(dp, List.of()); // del-controller
            p.s.setSoTimeout(2000); // well before the 5 s probe, which would close a silent peer anyway
            assertClosed(p);
        }
    }

    @Test
    void aPeerThatTricklesBytesOfAMessageItNeverFinishesIsClosed() throws Exception {
        service = new OpenFlowService(300, 100, 400);
        FakeDatapath dp = new FakeDatapath("br0", 1);
        service.configure(dp, List.of(ControllerTarget.parse("ptcp:0")));
        try (Peer p = connect()) {
            p.send(hello13());
            p.send(new byte[] {4, 2, 0, 64}); // an echo request of 64 bytes, then a byte every 100 ms
            Thread trickle = Thread.ofPlatform().daemon().start(() -> {
                try {
                    for (int i = 0; i < 50; i++) {
                        Thread.sleep(100);
                        p.send(new byte[] {0});
                    }
                } catch (IOException | InterruptedException e) {
                    // closed: done
                }
            });
            byte[] probe = p.read(); // within the 5 s read timeout, though bytes keep coming
            assertEquals(2, type(probe), "an echo request: bytes without a whole message are silence");
            assertClosed(p);
            trickle.interrupt();
        }
        assertEquals(1, service.counters().snapshot().get("probe_timeouts"));
    }

    @Test
    void aRunOfFlowModsTakesEffectInAFewFlushesAndAllBeforeTheBarrierReply() throws Exception {
        FakeDatapath dp = passive(1);
        try (Peer p = connect()) {
            p.send(hello13());
            java.io.ByteArrayOutputStream run = new java.io.ByteArrayOutputStream();
            for (int i = 0; i < 200; i++) {
                ByteBuffer fm = ByteBuffer.allocate(48);
                fm.putLong(0).putLong(0).put((byte) 0).put((byte) 0); // cookie, mask, table 0, ADD
                fm.putShort((short) 0).putShort((short) 0).putShort((short) i); // timeouts, priority
                fm.putInt(-1).putInt(-1).putInt(-1).putShort((short) 0).putShort((short) 0);
                fm.putShort((short) 1).putShort((short) 4).putInt(0); // an empty OXM match, padded
                run.write(msg(4, 14, 100 + i, fm.array()));
            }
            run.write(msg(4, 20, 999, new byte[0]));
            p.send(run.toByteArray());
            byte[] reply = p.read();
            assertEquals(21, type(reply), "no error: a BARRIER_REPLY");
            assertEquals(999, xid(reply));
            assertEquals(200, dp.flowMods.size());
            assertEquals(0, dp.unflushed, "every FLOW_MOD took effect before the barrier was answered");
            assertTrue(dp.flushes >= 1 && dp.flushes <= 10, dp.flushes + " flushes for 200 FLOW_MODs");
        }
    }

    /** A PACKET_OUT from CONTROLLER of a 60-byte frame with one output action. */
    static byte[] packetOut(int xid, int outPort) {
        ByteBuffer b = ByteBuffer.allocate(16 + 16 + 60);
        b.putInt(-1).putInt(0xfffffffd).putShort((short) 16).put(new byte[6]); // no buffer, in CONTROLLER
        b.putShort((short) 0)
                .putShort((short) 16)
                .putInt(outPort)
                .putShort((short) 0)
                .put(new byte[6]);
        b.put(new byte[] {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0});
        return msg(4, 13, xid, b.array());
    }

    @Test
    void aBarrierIsAnsweredOnlyOnceThePacketOutsBeforeItAreSent() throws Exception {
        FakeDatapath dp = passive(2);
        dp.packetOutsSent = 0; // the data path has not got to the queue yet
        try (Peer p = connect()) {
            p.send(hello13());
            p.send(packetOut(50, 1));
            p.send(msg(4, 20, 51, new byte[0])); // BARRIER_REQUEST
            p.send(msg(4, 2, 52, new byte[] {7})); // an ECHO_REQUEST after it
            p.s.setSoTimeout(300);
            assertThrows(
                    java.net.SocketTimeoutException.class,
                    p::read,
                    "neither the barrier nor what follows it is answered while the PACKET_OUT waits");
            assertEquals(1, dp.packetOuts.size(), "the PACKET_OUT was handed to the bridge");
            p.s.setSoTimeout(5000);
            dp.packetOutsSent = 1; // sent
            byte[] reply = p.read();
            assertEquals(21, type(reply));
            assertEquals(51, xid(reply));
            byte[] echo = p.read();
            assertEquals(3, type(echo), "then the message after the barrier");
            assertEquals(52, xid(echo));
            // a barrier with nothing outstanding is answered at once
            p.send(msg(4, 20, 53, new byte[0]));
            assertEquals(53, xid(p.read()));
        }
        assertEquals(0, service.counters().snapshot().get("barriers_late"));
    }

    @Test
    void aPacketOutMeetsEveryFlowSentBeforeItEvenWhenABarrierLeftThemWaiting() throws Exception {
        FakeDatapath dp = passive(2);
        dp.bigTable = true; // barriers do not rebuild: the data path gets FLOW_MODs later
        try (Peer p = connect()) {
            p.send(hello13());
            ByteBuffer fm = ByteBuffer.allocate(48);
            fm.putLong(0).putLong(0).put((byte) 0).put((byte) 0); // cookie, mask, table 0, ADD
            fm.putShort((short) 0).putShort((short) 0).putShort((short) 7); // timeouts, priority 7
            fm.putInt(-1).putInt(-1).putInt(-1).putShort((short) 0).putShort((short) 0);
            fm.putShort((short) 1).putShort((short) 4).putInt(0); // an empty match
            p.send(msg(4, 14, 70, fm.array()));
            p.send(msg(4, 20, 71, new byte[0]));
            assertEquals(71, xid(p.read()), "the barrier is answered");
            assertEquals(1, dp.unflushed, "with the FLOW_MOD in the tables, not yet in the data path");
            p.send(packetOut(72, 1));
            p.send(msg(4, 20, 73, new byte[0]));
            assertEquals(73, xid(p.read()));
            assertEquals(List.of(0), dp.unflushedAtPacketOut, "the PACKET_OUT came after the flush");
        }
    }

    @Test
    void aBarrierBehindADataPathThatDoesNotTurnRoundIsAnsweredLateAndCounted() throws Exception {
        FakeDatapath dp = passive(2);
        dp.packetOutsSent = 0; // and it stays so
        try (Peer p = connect()) {
            p.send(hello13());
            p.send(packetOut(60, 1));
            long t0 = System.nanoTime();
            p.send(msg(4, 20, 61, new byte[0]));
            byte[] reply = p.read();
            long waited = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(21, type(reply));
            assertEquals(61, xid(reply));
            assertTrue(waited >= 900, "answered after " + waited + " ms");
        }
        assertEquals(1, service.counters().snapshot().get("barriers_late"));
    }

    @Test
    void tableFeaturesAdvertiseTheBridgesRealFlowLimit() throws Exception {
        passive(1);
        try (Peer p = connect()) {
            p.send(hello13());
            p.send(msg(4, 18, 8, new byte[] {0, 12, 0, 0, 0, 0, 0, 0})); // MP_TABLE_FEATURES
            byte[] r = p.read();
            assertEquals(19, type(r));
            // after the multipart header: length, table_id, pad, name[32], metadata match and write, config
            assertEquals(65536, ByteBuffer.wrap(r).getInt(16 + 2 + 1 + 5 + 32 + 8 + 8 + 4), "max_entries");
        }
    }

    @Test
    void aLargePortDescIsSplitWithReplyMore() throws Exception {
        passive(1500); // 1500 * 64 bytes > 64 KiB
        try (Peer p = connect()) {
            p.send(hello13());
            p.send(msg(4, 18, 5, new byte[] {0, 13, 0, 0, 0, 0, 0, 0}));
            int ports = 0;
            int parts = 0;
            while (true) {
                byte[] r = p.read();
                assertEquals(19, type(r));
                assertEquals(5, xid(r));
                assertTrue(r.length <= 65535);
                parts++;
                ports += (r.length - 16) / 64;
                if ((ByteBuffer.wrap(r).getShort(10) & 1) == 0) {
                    break;
                }
            }
            assertEquals(1500, ports);
            assertEquals(2, parts);
        }
    }

    @Test
    void portStatusGoesToPeersThatAskedForAsyncMessages() throws Exception {
        FakeDatapath dp = passive(2);
        try (Peer p = connect()) {
            p.send(hello13());
            p.send(msg(4, 9, 3, new byte[] {0, 0, (byte) 0xff, (byte) 0xff})); // SET_CONFIG: as ovs-ofctl monitor
            p.send(msg(4, 20, 4, new byte[0]));
            assertEquals(21, type(p.read()));
            Thread.sleep(2 * OpenFlowService.PORT_POLL_MS);
            dp.ports.add(new OfDatapath.PortInfo(3, "p3", new byte[6], true, 10_000_000));
            byte[] added = p.read();
            assertEquals(12, type(added));
            assertEquals(0, added[8], "OFPPR_ADD");
            assertEquals(3, ByteBuffer.wrap(added).getInt(16));
            dp.ports.set(0, new OfDatapath.PortInfo(1, "p1", dp.ports.get(0).mac(), false, 10_000_000));
            byte[] down = p.read();
            assertEquals(12, type(down));
            assertEquals(2, down[8], "OFPPR_MODIFY");
            assertEquals(1, ByteBuffer.wrap(down).getInt(16));
            assertEquals(1, ByteBuffer.wrap(down).getInt(16 + 36), "OFPPS_LINK_DOWN");
            dp.ports.remove(2);
            byte[] gone = p.read();
            assertEquals(1, gone[8], "OFPPR_DELETE");
            // and the packet-in of a table miss: the whole frame up to miss_send_len (0xffff here)
            dp.packetIns.add(new byte[300]);
            byte[] pin = p.read();
            assertEquals(10, type(pin));
            assertEquals(300, ByteBuffer.wrap(pin).getShort(12));
            assertEquals(8 + 16 + 16 + 2 + 300, pin.length); // header, fixed part, match (in_port), pad, frame
        }
    }

    @Test
    void manyShortConnectionsAtOnce() throws Exception {
        passive(2);
        List<Thread> threads = new java.util.ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger ok = new java.util.concurrent.atomic.AtomicInteger();
        for (int i = 0; i < 16; i++) {
            threads.add(Thread.ofPlatform().start(() -> {
                for (int j = 0; j < 10; j++) {
                    try (Peer p = connect()) {
                        p.send(hello13());
                        p.send(msg(4, 5, j, new byte[0]));
                        if (type(p.read()) == 6) {
                            ok.incrementAndGet();
                        }
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(160, ok.get());
    }

    @Test
    void anActiveConnectionProbesReconnectsWithBackoffAndSignalsFailMode() throws Exception {
        service = new OpenFlowService(300, 100, 400);
        FakeDatapath dp = new FakeDatapath("br0", 1);
        try (ServerSocket controller = new ServerSocket(0, 4, java.net.InetAddress.getLoopbackAddress())) {
            controller.setSoTimeout(5000);
            service.configure(dp, List.of(ControllerTarget.parse("tcp:127.0.0.1:" + controller.getLocalPort())));
            try (Peer p = new Peer(controller.accept())) {
                assertEquals(0, type(p.read()));
                p.send(hello13());
                long t0 = System.nanoTime();
                while (!dp.connected && System.nanoTime() - t0 < 5e9) {
                    Thread.sleep(10);
                }
                assertTrue(dp.connected, "fail mode told: connected");
                dp.packetIns.add(new byte[60]);
                byte[] pin = p.read();
                assertEquals(10, type(pin));
                assertEquals(-1, ByteBuffer.wrap(pin).getInt(8), "NO_BUFFER");
                // silent: an echo request after the probe interval, then the connection closes
                byte[] echo = p.read();
                assertEquals(2, type(echo));
                try {
                    while (true) {
                        p.read();
                    }
                } catch (EOFException | java.net.SocketException e) {
                    // closed for not answering
                }
            }
            long t0 = System.nanoTime();
            while (dp.connected && System.nanoTime() - t0 < 5e9) {
                Thread.sleep(10);
            }
            assertTrue(!dp.connected, "fail mode told: disconnected");
            // it comes back by itself
            try (Peer p = new Peer(controller.accept())) {
                assertEquals(0, type(p.read()));
                p.send(hello13());
                p.send(msg(4, 2, 77, new byte[0]));
                assertEquals(3, type(p.read()));
            }
        }
        assertEquals(1, service.counters().snapshot().get("probe_timeouts"));
        assertTrue(service.counters().snapshot().get("connected") >= 2);
    }

    @Test
    void targetsParseAsOvsVsctlWrites() {
        assertEquals("ptcp:6653", ControllerTarget.parse("ptcp:6653").toString());
        assertEquals("127.0.0.1", ControllerTarget.parse("ptcp:6653").host());
        assertEquals(
                "ptcp:6654:198.18.0.1",
                ControllerTarget.parse("ptcp:6654:198.18.0.1").toString());
        assertEquals(
                "tcp:198.18.0.9:6653", ControllerTarget.parse("tcp:198.18.0.9").toString());
        assertEquals("tcp:[::1]:6633", ControllerTarget.parse("tcp:[::1]:6633").toString());
        for (String bad : List.of("", "unix:/x", "tcp:", "tcp:host.example:1", "ptcp:70000", "tcp:1.2.3.4:0")) {
            try {
                ControllerTarget.parse(bad);
                throw new AssertionError(bad + " accepted");
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage().length() < 200, e.getMessage());
            }
        }
    }
}
