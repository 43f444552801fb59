package dev.panda.vswitch.openflow;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The switch's messages to the wire (spec section 7), each a whole message with its header. */
public final class OfEncoder {

    /** A multipart reply's body is cut into messages of at most this many bytes. */
    static final int MAX_REPLY = Of.MAX_MESSAGE;

    private final ByteBufAllocator alloc;

    public OfEncoder(ByteBufAllocator alloc) {
        this.alloc = alloc;
    }

    private ByteBuf start(int type, int xid) {
        ByteBuf b = alloc.heapBuffer(64);
        b.writeByte(Of.VERSION);
        b.writeByte(type);
        b.writeShort(0);
        b.writeInt(xid);
        return b;
    }

    private static ByteBuf end(ByteBuf b) {
        b.setShort(2, b.writerIndex());
        return b;
    }

    /** HELLO with a version bitmap of 1.3 only. */
    public ByteBuf hello(int xid) {
        ByteBuf b = start(Of.HELLO, xid);
        b.writeShort(Of.HELLO_ELEM_VERSIONBITMAP);
        b.writeShort(8);
        b.writeInt(1 << Of.VERSION);
        return end(b);
    }

    /** OFPT_ERROR carrying at most the first 64 bytes of the offending message. */
    public ByteBuf error(int xid, int type, int code, byte[] offending) {
        ByteBuf b = start(Of.ERROR, xid);
        b.writeShort(type);
        b.writeShort(code);
        if (offending != null) {
            b.writeBytes(offending, 0, Math.min(64, offending.length));
        }
        return end(b);
    }

    public ByteBuf echoRequest(int xid, byte[] data) {
        ByteBuf b = start(Of.ECHO_REQUEST, xid);
        b.writeBytes(data);
        return end(b);
    }

    public ByteBuf echoReply(int xid, byte[] data) {
        ByteBuf b = start(Of.ECHO_REPLY, xid);
        b.writeBytes(data);
        return end(b);
    }

    public ByteBuf featuresReply(int xid, long dpid, int tables) {
        ByteBuf b = start(Of.FEATURES_REPLY, xid);
        b.writeLong(dpid);
        b.writeInt(0); // n_buffers: panda buffers nothing
        b.writeByte(tables);
        b.writeByte(0); // auxiliary_id
        b.writeZero(2);
        b.writeInt(Of.C_FLOW_STATS | Of.C_TABLE_STATS | Of.C_PORT_STATS);
        b.writeInt(0);
        return end(b);
    }

    public ByteBuf getConfigReply(int xid, int flags, int missSendLen) {
        ByteBuf b = start(Of.GET_CONFIG_REPLY, xid);
        b.writeShort(flags);
        b.writeShort(missSendLen);
        return end(b);
    }

    public ByteBuf barrierReply(int xid) {
        return end(start(Of.BARRIER_REPLY, xid));
    }

    public ByteBuf roleReply(int xid, int role, long generationId) {
        ByteBuf b = start(Of.ROLE_REPLY, xid);
        b.writeInt(role);
        b.writeZero(4);
        b.writeLong(generationId);
        return end(b);
    }

    /** PACKET_IN (spec 7.4.1): NO_BUFFER, in_port in the match, {@code len} bytes of {@code frame}. */
    public ByteBuf packetIn(
            int reason, int tableId, long cookie, int inPort, long tunnelId, byte[] frame, int totalLen, int len) {
        ByteBuf b = start(Of.PACKET_IN, 0);
        b.writeInt(Of.NO_BUFFER);
        b.writeShort(totalLen);
        b.writeByte(reason);
        b.writeByte(tableId);
        b.writeLong(cookie);
        List<Oxm> match = tunnelId == 0
                ? List.of(Oxm.exact(Oxm.IN_PORT, inPort & 0xffffffffL))
                : List.of(Oxm.exact(Oxm.IN_PORT, inPort & 0xffffffffL), Oxm.exact(Oxm.TUNNEL_ID, tunnelId));
        Oxm.encodeMatch(match, b);
        b.writeZero(2);
        b.writeBytes(frame, 0, len);
        return end(b);
    }

    public ByteBuf flowRemoved(OfDatapath.FlowStats f, int reason) {
        ByteBuf b = start(Of.FLOW_REMOVED, 0);
        b.writeLong(f.cookie());
        b.writeShort(f.priority());
        b.writeByte(reason);
        b.writeByte(f.tableId());
        b.writeInt((int) (f.durationNanos() / 1_000_000_000L));
        b.writeInt((int) (f.durationNanos() % 1_000_000_000L));
        b.writeShort(f.idleTimeout());
        b.writeShort(f.hardTimeout());
        b.writeLong(f.packets());
        b.writeLong(f.bytes());
        Oxm.encodeMatch(f.match(), b);
        return end(b);
    }

    public ByteBuf portStatus(int reason, OfDatapath.PortInfo p) {
        ByteBuf b = start(Of.PORT_STATUS, 0);
        b.writeByte(reason);
        b.writeZero(7);
        port(p, b);
        return end(b);
    }

    /** ofp_port (spec 7.2.1), 64 bytes. */
    static void port(OfDatapath.PortInfo p, ByteBuf b) {
        b.writeInt(p.ofport());
        b.writeZero(4);
        byte[] mac = p.mac() == null || p.mac().length != 6 ? new byte[6] : p.mac();
        b.writeBytes(mac);
        b.writeZero(2);
        fixed(p.name(), 16, b);
        b.writeInt(0); // config
        b.writeInt(p.linkUp() ? Of.PS_LIVE : Of.PS_LINK_DOWN);
        int features = Of.PF_10GB_FD | Of.PF_COPPER;
        b.writeInt(features); // curr
        b.writeInt(features); // advertised
        b.writeInt(features); // supported
        b.writeInt(0); // peer
        b.writeInt((int) Math.min(p.speedKbps(), 0xffffffffL));
        b.writeInt((int) Math.min(p.speedKbps(), 0xffffffffL));
    }

    /** A NUL-terminated string in a field of {@code n} bytes (cut to n-1). */
    static void fixed(String s, int n, ByteBuf b) {
        byte[] v = s == null ? new byte[0] : s.getBytes(StandardCharsets.US_ASCII);
        int len = Math.min(v.length, n - 1);
        b.writeBytes(v, 0, len);
        b.writeZero(n - len);
    }

    // ---- multipart ---------------------------------------------------------------------

    /**
     * One multipart reply of {@code type} whose body is the concatenation of {@code entries}, cut
     * into messages of at most 64 KiB between entries, every message but the last with REPLY_MORE.
     * An empty list gives one empty reply. Releases the entries.
     */
    public List<ByteBuf> multipart(int xid, int type, List<ByteBuf> entries) {
        List<ByteBuf> out = new ArrayList<>();
        ByteBuf cur = null;
        for (ByteBuf e : entries) {
            if (cur != null && cur.writerIndex() + e.readableBytes() > MAX_REPLY) {
                out.add(end(cur));
                cur = null;
            }
            if (cur == null) {
                cur = mpStart(xid, type);
            }
            cur.writeBytes(e);
            e.release();
        }
        if (cur == null) {
            cur = mpStart(xid, type);
        }
        out.add(end(cur));
        for (int i = 0; i < out.size() - 1; i++) {
            out.get(i).setShort(10, Of.MPF_MORE);
        }
        return out;
    }

    private ByteBuf mpStart(int xid, int type) {
        ByteBuf b = start(Of.MULTIPART_REPLY, xid);
        b.writeShort(type);
        b.writeShort(0);
        b.writeZero(4);
        return b;
    }

    public ByteBuf desc(String mfr, String hw, String sw, String serial, String dp) {
        ByteBuf b = alloc.heapBuffer(1056);
        fixed(mfr, 256, b);
        fixed(hw, 256, b);
        fixed(sw, 256, b);
        fixed(serial, 32, b);
        fixed(dp, 256, b);
        return b;
    }

    public ByteBuf portDescEntry(OfDatapath.PortInfo p) {
        ByteBuf b = alloc.heapBuffer(64);
        port(p, b);
        return b;
    }

    public ByteBuf portStatsEntry(OfDatapath.PortCounters c) {
        ByteBuf b = alloc.heapBuffer(112);
        b.writeInt(c.ofport());
        b.writeZero(4);
        b.writeLong(c.rxPackets());
        b.writeLong(c.txPackets());
        b.writeLong(c.rxBytes());
        b.writeLong(c.txBytes());
        b.writeLong(c.rxDropped());
        b.writeLong(c.txDropped());
        b.writeLong(c.rxErrors());
        b.writeLong(c.txErrors());
        b.writeLong(0); // rx_frame_err
        b.writeLong(0); // rx_over_err
        b.writeLong(0); // rx_crc_err
        b.writeLong(0); // collisions
        b.writeInt((int) (c.durationNanos() / 1_000_000_000L));
        b.writeInt((int) (c.durationNanos() % 1_000_000_000L));
        return b;
    }

    public ByteBuf flowStatsEntry(OfDatapath.FlowStats f) {
        ByteBuf b = alloc.heapBuffer(128);
        b.writeShort(0);
        b.writeByte(f.tableId());
        b.writeZero(1);
        b.writeInt((int) (f.durationNanos() / 1_000_000_000L));
        b.writeInt((int) (f.durationNanos() % 1_000_000_000L));
        b.writeShort(f.priority());
        b.writeShort(f.idleTimeout());
        b.writeShort(f.hardTimeout());
        b.writeShort(f.flags());
        b.writeZero(4);
        b.writeLong(f.cookie());
        b.writeLong(f.packets());
        b.writeLong(f.bytes());
        Oxm.encodeMatch(f.match(), b);
        OfInstruction.encodeList(f.instructions(), b);
        b.setShort(0, b.writerIndex());
        return b;
    }

    public ByteBuf aggregate(long packets, long bytes, int flows) {
        ByteBuf b = alloc.heapBuffer(24);
        b.writeLong(packets);
        b.writeLong(bytes);
        b.writeInt(flows);
        b.writeZero(4);
        return b;
    }

    public ByteBuf tableStatsEntry(OfDatapath.TableStats t) {
        ByteBuf b = alloc.heapBuffer(24);
        b.writeByte(t.tableId());
        b.writeZero(3);
        b.writeInt((int) t.activeCount());
        b.writeLong(t.lookupCount());
        b.writeLong(t.matchedCount());
        return b;
    }

    /** The fields a flow may match, as OXM headers (masked where the field takes a mask). */
    static final int[] MATCH_FIELDS = {
        Oxm.IN_PORT, Oxm.ETH_DST, Oxm.ETH_SRC, Oxm.ETH_TYPE, Oxm.VLAN_VID, Oxm.VLAN_PCP, Oxm.IP_PROTO, Oxm.IPV4_SRC,
        Oxm.IPV4_DST, Oxm.TCP_SRC, Oxm.TCP_DST, Oxm.UDP_SRC, Oxm.UDP_DST, Oxm.ICMPV4_TYPE, Oxm.ICMPV4_CODE, Oxm.ARP_OP,
        Oxm.ARP_SPA, Oxm.ARP_TPA, Oxm.IPV6_SRC, Oxm.IPV6_DST, Oxm.TUNNEL_ID
    };

    static final int[] SET_FIELDS = {Oxm.ETH_DST, Oxm.ETH_SRC, Oxm.VLAN_VID};
    static final int[] ACTIONS = {Of.AT_OUTPUT, Of.AT_PUSH_VLAN, Of.AT_POP_VLAN, Of.AT_SET_FIELD};
    static final int[] INSTRUCTIONS = {Of.IT_GOTO_TABLE, Of.IT_WRITE_ACTIONS, Of.IT_APPLY_ACTIONS, Of.IT_CLEAR_ACTIONS};

    /** One table's ofp_table_features (spec 7.3.5.5) with every property, the miss ones the same. */
    public ByteBuf tableFeaturesEntry(int table, int tables, int maxEntries) {
        ByteBuf b = alloc.heapBuffer(640);
        b.writeShort(0);
        b.writeByte(table);
        b.writeZero(5);
        fixed("table" + table, 32, b);
        b.writeLong(0); // metadata_match
        b.writeLong(0); // metadata_write
        b.writeInt(0); // config
        b.writeInt(maxEntries);
        for (int miss = 0; miss < 2; miss++) {
            int start = prop(b, 0 + miss);
            for (int it : INSTRUCTIONS) {
                if (it != Of.IT_GOTO_TABLE || table + 1 < tables) {
                    b.writeShort(it);
                    b.writeShort(4);
                }
            }
            endProp(b, start);
            start = prop(b, 2 + miss);
            for (int t = table + 1; t < tables; t++) {
                b.writeByte(t);
            }
            endProp(b, start);
            for (int kind : new int[] {4, 6}) { // write-actions, apply-actions
                start = prop(b, kind + miss);
                for (int a : ACTIONS) {
                    b.writeShort(a);
                    b.writeShort(4);
                }
                endProp(b, start);
            }
            for (int kind : new int[] {12, 14}) { // write-setfield, apply-setfield
                start = prop(b, kind + miss);
                for (int f : SET_FIELDS) {
                    b.writeInt(oxmHeader(f, false));
                }
                endProp(b, start);
            }
        }
        for (int kind : new int[] {8, 10}) { // match, wildcards
            int start = prop(b, kind);
            for (int f : MATCH_FIELDS) {
                b.writeInt(oxmHeader(f, kind == 8 && Oxm.maskable(f)));
            }
            endProp(b, start);
        }
        b.setShort(0, b.writerIndex());
        return b;
    }

    private static int oxmHeader(int field, boolean masked) {
        int n = Oxm.length(field);
        return (Of.OXM_CLASS_BASIC << 16) | (field << 9) | (masked ? 0x100 | (2 * n) : n);
    }

    private static int prop(ByteBuf b, int type) {
        int start = b.writerIndex();
        b.writeShort(type);
        b.writeShort(0);
        return start;
    }

    private static void endProp(ByteBuf b, int start) {
        int len = b.writerIndex() - start;
        b.setShort(start + 2, len);
        b.writeZero(Oxm.pad8(len) - len);
    }
}
