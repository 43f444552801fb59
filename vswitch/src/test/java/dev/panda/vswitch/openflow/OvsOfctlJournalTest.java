package dev.panda.vswitch.openflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panda.vswitch.VswitchProcess;
import dev.panda.vswitch.control.Json;
import dev.panda.vswitch.ctl.CtlClient;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Flows an OpenFlow peer installs survive a SIGKILL: Debian's {@code ovs-ofctl -O OpenFlow13}
 * add-flow, mod-flows --strict and del-flows --strict against a {@code panda vswitch --journal on}
 * process through its {@code ptcp:} listener; the process is SIGKILLed right after the last
 * ovs-ofctl returns (its BARRIER_REPLY came back: the flow mods are on disk), restarted on the same
 * state directory, and {@code ovs-ofctl dump-flows} shows the same flows (table, cookie, priority,
 * match, actions). The bridge also has a {@code tcp:} controller, a small OpenFlow 1.3 listener
 * here: on the restarted switch's connection its first flow-stats request, sent right after the
 * hello, already finds every flow (flows are restored before any OpenFlow connection starts).
 */
class OvsOfctlJournalTest {

    @TempDir
    Path dir;

    /**
     * An OpenFlow 1.3 controller that, on each switch connection, says hello, sends one flow-stats
     * request (all tables) at once and queues what the reply lists ({@code table/priority/cookie}
     * per flow), answering echo requests meanwhile.
     */
    private static final class TinyController implements AutoCloseable {
        final ServerSocket server;
        final BlockingQueue<List<String>> firstReplies = new LinkedBlockingQueue<>();
        final List<Socket> sockets = new ArrayList<>();

        TinyController() throws IOException {
            server = new ServerSocket();
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread.ofPlatform().daemon().name("tiny-controller").start(this::acceptLoop);
        }

        int port() {
            return server.getLocalPort();
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    synchronized (sockets) {
                        sockets.add(s);
                    }
                    Thread.ofPlatform().daemon().start(() -> session(s));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void session(Socket s) {
            try (s) {
                s.setSoTimeout(30_000);
                OutputStream out = s.getOutputStream();
                DataInputStream in = new DataInputStream(s.getInputStream());
                out.write(header(0, 8, 1).array()); // HELLO
                ByteBuffer req = header(18, 56, 7); // MULTIPART_REQUEST, OFPMP_FLOW
                req.putShort((short) 1).putShort((short) 0).putInt(0);
                req.put((byte) 0xff).put(new byte[3]).putInt(-1).putInt(-1).putInt(0); // table all, ANY, ANY
                req.putLong(0).putLong(0); // cookie, cookie mask
                req.putShort((short) 1).putShort((short) 4).putInt(0); // an empty OXM match, padded
                out.write(req.array());
                out.flush();
                List<String> flows = new ArrayList<>();
                while (true) {
                    byte[] h = new byte[8];
                    in.readFully(h);
                    ByteBuffer hb = ByteBuffer.wrap(h);
                    int type = hb.get(1) & 0xff;
                    int len = hb.getShort(2) & 0xffff;
                    int xid = hb.getInt(4);
                    byte[] body = new byte[len - 8];
                    in.readFully(body);
                    if (type == 2) { // ECHO_REQUEST
                        ByteBuffer r = header(3, len, xid);
                        r.put(body);
                        out.write(r.array());
                        out.flush();
                    } else if (type == 1) { // ERROR
                        flows.add("error " + (ByteBuffer.wrap(body).getShort(0) & 0xffff) + "/"
                                + (ByteBuffer.wrap(body).getShort(2) & 0xffff));
                        firstReplies.add(flows);
                        return;
                    } else if (type == 19 && xid == 7) { // MULTIPART_REPLY to ours
                        ByteBuffer b = ByteBuffer.wrap(body);
                        int flags = b.getShort(2) & 0xffff;
                        int at = 8;
                        while (at + 32 <= body.length) {
                            int l = b.getShort(at) & 0xffff;
                            if (l < 32) {
                                break;
                            }
                            flows.add((b.get(at + 2) & 0xff) + "/" + (b.getShort(at + 12) & 0xffff) + "/0x"
                                    + Long.toHexString(b.getLong(at + 24)));
                            at += l;
                        }
                        if ((flags & 1) == 0) {
                            flows.sort(null);
                            firstReplies.add(flows);
                            // keep the connection up (echo) until the switch goes
                            flows = new ArrayList<>();
                        }
                    }
                }
            } catch (IOException e) {
                // the switch went away (SIGKILL) or the test ended
            }
        }

        private static ByteBuffer header(int type, int length, int xid) {
            ByteBuffer b = ByteBuffer.allocate(length);
            b.put((byte) 4).put((byte) type).putShort((short) length).putInt(xid);
            return b;
        }

        @Override
        public void close() throws IOException {
            server.close();
            synchronized (sockets) {
                for (Socket s : sockets) {
                    s.close();
                }
            }
        }
    }

    private static String listener(CtlClient ctl) throws IOException {
        CtlClient.Answer a = ctl.call("GET", "/v1/bridges/br0/controllers", null, "application/json");
        assertEquals(200, a.status(), a.text());
        for (JsonNode c : Json.MAPPER.readTree(a.body()).get("controllers")) {
            if (c.get("target").asText().startsWith("ptcp:")) {
                assertEquals("listening", c.get("state").asText(), c.toString());
                return "tcp:" + c.get("address").asText();
            }
        }
        throw new AssertionError("no ptcp listener: " + a.text());
    }

    /** dump-flows lines without what a restart resets (duration, counters, idle age). */
    private static List<String> dump(String target) throws Exception {
        List<String> out = new ArrayList<>();
        for (String l : OvsOfctl.ok("--no-names", "dump-flows", target).lines().toList()) {
            if (l.startsWith("OFPST_FLOW reply") || l.isBlank()) {
                continue;
            }
            out.add(l.replaceAll("duration=[0-9.]+s, ", "")
                    .replaceAll("n_packets=\\d+, n_bytes=\\d+, ", "")
                    .replaceAll("idle_age=\\d+, ", ""));
        }
        out.sort(null);
        return out;
    }

    @Test
    void flowsFromOvsOfctlSurviveSigkillAndAreThereBeforeTheControllerAsks() throws Exception {
        OvsOfctl.require();
        Path sock = dir.resolve("v.ctl");
        CtlClient ctl = new CtlClient(sock, Duration.ofSeconds(20));
        try (TinyController controller = new TinyController()) {
            List<String> before;
            try (VswitchProcess c = new VswitchProcess(dir.resolve("state"), sock)) {
                CtlClient.Answer a = ctl.call(
                        "POST",
                        "/v1/bridges",
                        "{\"name\": \"br0\", \"ports\": [{\"name\": \"p1\", \"device\": \"net_null0,no-rx=1\"}]}"
                                .getBytes(StandardCharsets.UTF_8),
                        null);
                assertEquals(2, a.status() / 100, a.text());
                a = ctl.call(
                        "PUT",
                        "/v1/bridges/br0/controllers",
                        ("{\"targets\": [\"ptcp:0\", \"tcp:127.0.0.1:" + controller.port() + "\"]}")
                                .getBytes(StandardCharsets.UTF_8),
                        null);
                assertEquals(2, a.status() / 100, a.text());
                List<String> first = controller.firstReplies.poll(30, TimeUnit.SECONDS);
                assertEquals(List.of(), first, "no flows yet on the first connection");
                String target = listener(ctl);
                OvsOfctl.ok(
                        "add-flow", target, "table=0,priority=100,cookie=0x11,ip,nw_dst=198.18.0.1,actions=output:1");
                OvsOfctl.ok("add-flow", target, "table=0,priority=50,cookie=0x22,in_port=1,actions=NORMAL");
                OvsOfctl.ok("add-flow", target, "table=1,priority=10,cookie=0x33,udp,tp_dst=53,actions=drop");
                OvsOfctl.ok("add-flow", target, "priority=5,cookie=0x44,dl_dst=02:00:00:00:00:01,actions=output:1");
                OvsOfctl.ok("--strict", "mod-flows", target, "table=0,priority=50,in_port=1,actions=FLOOD");
                OvsOfctl.ok("--strict", "del-flows", target, "table=0,priority=5,dl_dst=02:00:00:00:00:01");
                OvsOfctl.ok("mod-flows", target, "table=1,cookie=0x33/-1,actions=output:2");
                before = dump(target);
                assertEquals(3, before.size(), before.toString());
                c.kill(); // right after the last ovs-ofctl got its barrier reply
            }
            try (VswitchProcess c = new VswitchProcess(dir.resolve("state"), sock)) {
                assertTrue(
                        c.seen.stream().anyMatch(l -> l.contains("3 flow(s)")),
                        "the start line counts the flows: " + c.seen);
                List<String> seenByController = controller.firstReplies.poll(30, TimeUnit.SECONDS);
                assertEquals(
                        List.of("0/100/0x11", "0/50/0x22", "1/10/0x33"),
                        seenByController,
                        "the controller's first flow-stats request after the restarted switch connected");
                String target = listener(ctl);
                List<String> after = dump(target);
                assertEquals(before, after);
                assertTrue(
                        after.stream().anyMatch(l -> l.contains("priority=50,in_port=1 actions=FLOOD")),
                        after.toString());
                assertTrue(
                        after.stream().anyMatch(l -> l.contains("cookie=0x33") && l.contains("actions=output:2")),
                        after.toString());
                // and changes after the restart are journaled too
                OvsOfctl.ok("del-flows", target, "cookie=0x11/-1");
                c.kill();
            }
            try (VswitchProcess c = new VswitchProcess(dir.resolve("state"), sock)) {
                List<String> again = dump(listener(ctl));
                assertEquals(2, again.size(), again.toString());
                assertTrue(again.stream().noneMatch(l -> l.contains("cookie=0x11")), again.toString());
            }
        }
    }
}
