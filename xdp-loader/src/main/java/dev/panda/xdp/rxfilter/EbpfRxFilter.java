package dev.panda.xdp.rxfilter;

import dev.panda.dataplane.filter.RxFilter;
import dev.panda.dataplane.filter.RxFilterStream;
import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;
import dev.panda.xdp.ebpf.BpfFormatException;
import dev.panda.xdp.ebpf.EbpfObject;
import dev.panda.xdp.ebpf.EbpfProgram;
import dev.panda.xdp.ebpf.Interpreter;
import dev.panda.xdp.ebpf.Translator;
import dev.panda.xdp.ebpf.XdpContext;
import dev.panda.xdp.ebpf.XdpProgram;
import dev.panda.xdp.prefilter.Prefilter;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An eBPF XDP program run in userspace on every received burst: one {@link EbpfObject} (its maps
 * shared by every stream, per-CPU maps with one "CPU" per stream) and one engine, the
 * {@link Translator}'s JVM class by default, the {@link Interpreter} when asked or when the
 * translator refuses the program. Map updates from Java (e.g. through {@link #prefilter()}) take
 * effect at the next packet: the engine looks the maps up per packet.
 */
public final class EbpfRxFilter implements RxFilter {

    /** Which engine runs the program. */
    public enum Engine {
        JIT,
        INTERP
    }

    private final String source;
    private final EbpfObject object;
    private final XdpProgram program;
    private final String engineNote;
    private final int maxStreams;
    private final List<EbpfFilterStream> streams = new CopyOnWriteArrayList<>();

    EbpfRxFilter(String source, EbpfObject object, String programName, Engine engine, int maxStreams) {
        this.source = source;
        this.object = object;
        this.maxStreams = maxStreams;
        EbpfProgram p = object.program(programName);
        if (engine == Engine.INTERP) {
            program = new Interpreter(p);
            engineNote = "interpreter";
        } else {
            XdpProgram t;
            String note;
            try {
                t = Translator.translate(p);
                note = "translated to JVM bytecode";
            } catch (BpfFormatException e) {
                t = new Interpreter(p);
                note = "interpreter: " + e.getMessage();
            }
            program = t;
            engineNote = note;
        }
    }

    @Override
    public String description() {
        return source + ":" + program.program().name() + " in userspace (" + engineNote + ")";
    }

    /** The engine actually running: {@link Engine#INTERP} also when the translator refused the program. */
    public Engine engine() {
        return program instanceof Interpreter ? Engine.INTERP : Engine.JIT;
    }

    /** The object, for its maps. */
    public EbpfObject object() {
        return object;
    }

    /** Rules and counters over this object's maps; it must be the prefilter object. */
    public Prefilter prefilter() {
        return new Prefilter(object);
    }

    @Override
    public RxFilterStream newStream(
            int streamIndex, PacketPool pool, Port rxPort, int rxPortId, int rxQueue, int txQueue) {
        if (streamIndex < 0 || streamIndex >= maxStreams) {
            throw new IllegalArgumentException(
                    "stream " + streamIndex + " but the filter was opened for " + maxStreams);
        }
        XdpContext ctx = object.newContext(streamIndex);
        ctx.setQueue(rxPortId + 1, rxQueue);
        EbpfFilterStream s = new EbpfFilterStream(program, ctx, pool, rxPort, txQueue);
        streams.add(s);
        return s;
    }

    /** Program runs that faulted, over every stream this filter made. */
    public long faults() {
        long n = 0;
        for (EbpfFilterStream s : streams) {
            n += s.faults();
        }
        return n;
    }

    @Override
    public void close() {
        streams.clear();
    }
}
