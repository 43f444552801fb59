package dev.panda.dataplane.ports.afpacket;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.AbstractPort;
import dev.panda.dataplane.port.KernelInterface;
import dev.panda.dataplane.port.LinkStatus;
import dev.panda.dataplane.port.PacketBurst;
import dev.panda.dataplane.port.QueueCounters;
import dev.panda.jextract.Fd;
import dev.panda.jextract.SockCalls;
import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.tpacket3_hdr;
import dev.panda.jextract.uapi.tpacket_block_desc;
import dev.panda.jextract.uapi.tpacket_hdr_v1;
import dev.panda.jextract.uapi.tpacket_stats_v3;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * {@code net_af_packet}: one AF_PACKET socket with a TPACKET_V3 rx ring and tx ring in one
 * mapping (kernel Documentation/networking/packet_mmap.rst, "TPACKET_V3"), one queue.
 *
 * <p>Rx: the kernel fills blocks; a block is ours while {@code block_status & TP_STATUS_USER}
 * (read with acquire), we copy each packet ({@code tp_next_offset} chain) into a pool buffer and
 * hand the block back with a release store of TP_STATUS_KERNEL. Tx: a frame slot is free while
 * its {@code tp_status} is TP_STATUS_AVAILABLE (acquire); we copy the packet after the
 * TPACKET_ALIGN'd header, publish TP_STATUS_SEND_REQUEST (release), free the pool buffer, and one
 * {@code sendto(MSG_DONTWAIT)} per burst makes the kernel send. Copies both ways, like DPDK's
 * af_packet PMD; no allocation per packet.
 */
final class AfPacketPort extends AbstractPort {

    private static final VarHandle U32 = ValueLayout.JAVA_INT.varHandle();
    private static final long BLOCK_STATUS = tpacket_block_desc.hdr$offset() + tpacket_hdr_v1.block_status$offset();
    private static final long NUM_PKTS = tpacket_block_desc.hdr$offset() + tpacket_hdr_v1.num_pkts$offset();
    private static final long FIRST_PKT = tpacket_block_desc.hdr$offset() + tpacket_hdr_v1.offset_to_first_pkt$offset();
    private static final long TP_NEXT = tpacket3_hdr.tp_next_offset$offset();
    private static final long TP_SNAPLEN = tpacket3_hdr.tp_snaplen$offset();
    private static final long TP_LEN = tpacket3_hdr.tp_len$offset();
    private static final long TP_STATUS = tpacket3_hdr.tp_status$offset();
    private static final long TP_MAC = tpacket3_hdr.tp_mac$offset();
    /** Where tx data starts in a frame: TPACKET_ALIGN(sizeof(struct tpacket3_hdr)). */
    static final int TX_DATA =
            (int) ((tpacket3_hdr.sizeof() + Uapi.TPACKET_ALIGNMENT() - 1) & -Uapi.TPACKET_ALIGNMENT());

    private static final int TP_STATUS_USER = Uapi.TP_STATUS_USER();
    private static final int TP_STATUS_KERNEL = Uapi.TP_STATUS_KERNEL();
    private static final int TP_STATUS_SEND_REQUEST = Uapi.TP_STATUS_SEND_REQUEST();
    private static final int TP_STATUS_WRONG_FORMAT = Uapi.TP_STATUS_WRONG_FORMAT();

    private final String iface;
    private final PacketPool pool;
    private final Fd fd;
    private final Arena arena;
    private final MemorySegment rx;
    private final MemorySegment tx;
    private final int blockSize;
    private final int blocks;
    private final int frameSize;
    private final int txFrames;
    private final QueueCounters rxq;
    private final QueueCounters txq;
    private final int[] scratch = new int[PacketBurst.MAX_BURST];
    private int block;
    private int pktsLeft;
    private long pktOff;
    private int txHead;
    private long kernelDrops;
    private boolean closed;

    AfPacketPort(
            String name,
            String iface,
            PacketPool pool,
            Fd fd,
            Arena arena,
            MemorySegment ring,
            int blockSize,
            int blocks,
            int frameSize,
            long mac) {
        super(name, AfPacketPortDriver.NAME, 1, 1, mac);
        this.iface = iface;
        this.pool = pool;
        this.fd = fd;
        this.arena = arena;
        this.blockSize = blockSize;
        this.blocks = blocks;
        this.frameSize = frameSize;
        long half = (long) blockSize * blocks;
        this.rx = ring.asSlice(0, half);
        this.tx = ring.asSlice(half, half);
        this.txFrames = (int) (half / frameSize);
        this.rxq = rxCounters[0];
        this.txq = txCounters[0];
    }

    @Override
    public int rxBurst(int queue, PacketBurst burst) {
        int max = burst.maxBurst();
        int got = pool.allocBulk(burst.handles, 0, max);
        MemorySegment mem = pool.segment();
        int k = 0;
        long bytes = 0;
        while (k < got) {
            long blk = (long) block * blockSize;
            if (pktsLeft == 0) {
                int status = (int) U32.getAcquire(rx, blk + BLOCK_STATUS);
                if ((status & TP_STATUS_USER) == 0) {
                    break;
                }
                pktsLeft = rx.get(ValueLayout.JAVA_INT, blk + NUM_PKTS);
                pktOff = rx.get(ValueLayout.JAVA_INT, blk + FIRST_PKT);
                if (pktsLeft == 0) {
                    retire(blk);
                    continue;
                }
            }
            long p = blk + pktOff;
            int snap = rx.get(ValueLayout.JAVA_INT, p + TP_SNAPLEN);
            int macOff = Short.toUnsignedInt(rx.get(ValueLayout.JAVA_SHORT, p + TP_MAC));
            int h = burst.handles[k];
            if (snap > 0 && snap <= pool.maxPacketLength() && pktOff + macOff + snap <= blockSize) {
                MemorySegment.copy(rx, p + macOff, mem, pool.dataOffset(h), snap);
                pool.setLength(h, snap);
                bytes += snap;
                k++;
            } else {
                rxq.addErrors(1); // longer than a buffer (or inconsistent): dropped, counted
            }
            pktOff += rx.get(ValueLayout.JAVA_INT, p + TP_NEXT);
            if (--pktsLeft == 0) {
                retire(blk);
            }
        }
        if (got > k) {
            pool.freeBulk(burst.handles, k, got - k);
        } else if (got < max) {
            rxq.addNombuf(1); // the pool, not the ring, ended this burst
        }
        burst.size = k;
        if (k > 0) {
            rxq.add(k, bytes);
        }
        return k;
    }

    private void retire(long blk) {
        U32.setRelease(rx, blk + BLOCK_STATUS, TP_STATUS_KERNEL);
        block = block + 1 == blocks ? 0 : block + 1;
    }

    @Override
    public int txBurst(int queue, PacketBurst burst, int n) {
        MemorySegment mem = pool.segment();
        int k = 0;
        long bytes = 0;
        int[] hs = burst.handles;
        while (k < n) {
            long f = (long) txHead * frameSize;
            int status = (int) U32.getAcquire(tx, f + TP_STATUS);
            if (status == TP_STATUS_WRONG_FORMAT) {
                txq.addErrors(1);
            } else if (status != 0) {
                break; // still owned by the kernel: ring full
            }
            int h = hs[k];
            int len = Math.min(pool.length(h), frameSize - TX_DATA);
            MemorySegment.copy(mem, pool.dataOffset(h), tx, f + TX_DATA, len);
            tx.set(ValueLayout.JAVA_INT, f + TP_NEXT, 0);
            tx.set(ValueLayout.JAVA_INT, f + TP_LEN, len);
            tx.set(ValueLayout.JAVA_INT, f + TP_SNAPLEN, len);
            U32.setRelease(tx, f + TP_STATUS, TP_STATUS_SEND_REQUEST);
            txHead = txHead + 1 == txFrames ? 0 : txHead + 1;
            bytes += len;
            scratch[k] = h;
            k++;
        }
        if (k > 0) {
            pool.freeBulk(scratch, 0, k);
            txq.add(k, bytes);
            SockCalls.kickSend(fd.value());
        }
        return k;
    }

    /** Kernel drops: PACKET_STATISTICS resets on read, so they are accumulated here. */
    @Override
    protected synchronized long missedElsewhere() {
        if (!closed) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment s = tpacket_stats_v3.allocate(a);
                SockCalls.getsockopt(fd.value(), Libc.SOL_PACKET(), Uapi.PACKET_STATISTICS(), s, "PACKET_STATISTICS");
                kernelDrops += Integer.toUnsignedLong(tpacket_stats_v3.tp_drops(s));
            }
        }
        return kernelDrops;
    }

    @Override
    public LinkStatus link() {
        return KernelInterface.link(iface);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        fd.close();
        arena.close();
    }

    @Override
    public String toString() {
        return name() + " (" + iface + ")";
    }
}
