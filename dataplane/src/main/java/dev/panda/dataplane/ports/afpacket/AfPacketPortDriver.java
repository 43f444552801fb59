package dev.panda.dataplane.ports.afpacket;

import dev.panda.dataplane.port.DeviceException;
import dev.panda.dataplane.port.DeviceSpec;
import dev.panda.dataplane.port.KernelInterface;
import dev.panda.dataplane.port.Port;
import dev.panda.dataplane.port.PortContext;
import dev.panda.dataplane.port.PortDriver;
import dev.panda.jextract.Fd;
import dev.panda.jextract.SockCalls;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.sockaddr_ll;
import dev.panda.jextract.uapi.tpacket_req3;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Set;

/**
 * {@code net_af_packet<N>,iface=IF[,blocksz=65536][,framesz=2048][,framecnt=512][,qdisc_bypass=0|1]},
 * keys as DPDK's af_packet PMD names them: {@code framecnt} frames of {@code framesz} in blocks of
 * {@code blocksz}, for each of the rx and tx rings.
 */
public final class AfPacketPortDriver implements PortDriver {

    static final String NAME = "net_af_packet";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "AF_PACKET socket with TPACKET_V3 mmap rings on a kernel interface; iface=, blocksz=, framesz=, framecnt=, qdisc_bypass=";
    }

    @Override
    public Set<String> keys() {
        return Set.of("iface", "blocksz", "framesz", "framecnt", "qdisc_bypass");
    }

    @Override
    public Port open(DeviceSpec spec, PortContext ctx) {
        spec.requireKnownKeys(NAME, keys());
        String iface = spec.require("iface", "eth0");
        int ifindex = KernelInterface.index(spec, iface);
        int blockSize = spec.getInt("blocksz", 1 << 16, 4096, 1 << 22);
        int frameSize = spec.getInt("framesz", 2048, 128, 1 << 16);
        int frameCount = spec.getInt("framecnt", 512, 8, 1 << 20);
        if (Integer.bitCount(blockSize) != 1
                || blockSize % 4096 != 0
                || blockSize % frameSize != 0
                || frameSize % Uapi.TPACKET_ALIGNMENT() != 0) {
            throw new DeviceException(spec.name() + ": blocksz (" + blockSize
                    + ") must be a power of two multiple of 4096 and of framesz (" + frameSize
                    + "), framesz a multiple of " + Uapi.TPACKET_ALIGNMENT());
        }
        int perBlock = blockSize / frameSize;
        int blocks = Math.max(1, (frameCount + perBlock - 1) / perBlock);
        boolean bypass = spec.getBool("qdisc_bypass", false);

        int proto = Short.toUnsignedInt(Short.reverseBytes((short) Uapi.ETH_P_ALL())); // htons
        Fd fd = new Fd(
                SockCalls.socket(Libc.AF_PACKET(), Libc.SOCK_RAW() | Libc.SOCK_CLOEXEC(), proto, "socket(AF_PACKET)"));
        Arena arena = Arena.ofShared();
        try (Arena a = Arena.ofConfined()) {
            int sol = Libc.SOL_PACKET();
            SockCalls.setsockopt(fd.value(), sol, Uapi.PACKET_VERSION(), Uapi.TPACKET_V3(), "PACKET_VERSION");
            SockCalls.setsockopt(fd.value(), sol, Uapi.PACKET_IGNORE_OUTGOING(), 1, "PACKET_IGNORE_OUTGOING");
            if (bypass) {
                SockCalls.setsockopt(fd.value(), sol, Uapi.PACKET_QDISC_BYPASS(), 1, "PACKET_QDISC_BYPASS");
            }
            MemorySegment req = tpacket_req3.allocate(a);
            tpacket_req3.tp_block_size(req, blockSize);
            tpacket_req3.tp_block_nr(req, blocks);
            tpacket_req3.tp_frame_size(req, frameSize);
            tpacket_req3.tp_frame_nr(req, blocks * perBlock);
            tpacket_req3.tp_retire_blk_tov(req, 1); // ms: a partly filled block is handed over soon
            SockCalls.setsockopt(fd.value(), sol, Uapi.PACKET_RX_RING(), req, "PACKET_RX_RING");
            tpacket_req3.tp_retire_blk_tov(req, 0);
            SockCalls.setsockopt(fd.value(), sol, Uapi.PACKET_TX_RING(), req, "PACKET_TX_RING");
            MemorySegment ring = SockCalls.mmap(fd.value(), 2L * blockSize * blocks, 0, arena, "TPACKET_V3 rings");
            MemorySegment sa = sockaddr_ll.allocate(a);
            sockaddr_ll.sll_family(sa, (short) Libc.AF_PACKET());
            sockaddr_ll.sll_protocol(sa, (short) proto);
            sockaddr_ll.sll_ifindex(sa, ifindex);
            SockCalls.bind(fd.value(), sa, "AF_PACKET on " + iface);
            return new AfPacketPort(
                    spec.name(),
                    iface,
                    ctx.pool(),
                    fd,
                    arena,
                    ring,
                    blockSize,
                    blocks,
                    frameSize,
                    KernelInterface.mac(iface));
        } catch (RuntimeException e) {
            fd.close();
            arena.close();
            throw new DeviceException(
                    spec.name() + ": cannot open AF_PACKET rings on " + iface + ": " + e.getMessage(), e);
        }
    }
}
