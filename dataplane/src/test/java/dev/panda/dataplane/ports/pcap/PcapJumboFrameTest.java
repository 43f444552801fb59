package dev.panda.dataplane.ports.pcap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panda.dataplane.mem.PoolConfig;
import dev.panda.dataplane.port.Port;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Packets longer than the written snaplen (65535) are cut to it, with the wire length kept. */
class PcapJumboFrameTest extends PcapTestBase {

    @Override
    PoolConfig poolConfig() {
        return super.poolConfig().withCount(64).withDataRoom(65536);
    }

    @Test
    void packetOverSnaplenIsCutAndKeepsItsWireLength() throws IOException {
        byte[] max = PcapBuilder.frame(65536, 7);
        byte[] small = PcapBuilder.frame(9000, 8);
        Port tx = open("net_pcap0,tx_pcap=" + path("out.pcap"));
        send(tx, List.of(max, small));
        assertEquals(65536 + 9000, tx.stats().obytes());
        tx.close();
        ByteBuffer b =
                ByteBuffer.wrap(Files.readAllBytes(dir.resolve("out.pcap"))).order(ByteOrder.nativeOrder());
        assertEquals(65535, b.getInt(24 + 8), "caplen");
        assertEquals(65536, b.getInt(24 + 12), "len");
        List<byte[]> got = drain(open("net_pcap1,rx_pcap=" + path("out.pcap")));
        assertEquals(2, got.size());
        assertArrayEquals(Arrays.copyOf(max, 65535), got.get(0));
        assertArrayEquals(small, got.get(1));
    }
}
