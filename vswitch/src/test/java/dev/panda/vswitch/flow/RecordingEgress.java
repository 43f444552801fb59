package dev.panda.vswitch.flow;

import dev.panda.dataplane.mem.PacketPool;
import java.util.ArrayList;
import java.util.List;

/** Tests' egress: records what the engine did with each packet ("out:N", "drop", "normal", "flood") and frees it. */
public final class RecordingEgress implements FlowEngine.Egress {

    private final PacketPool pool;
    public final List<String> seen = new ArrayList<>();

    public RecordingEgress(PacketPool pool) {
        this.pool = pool;
    }

    @Override
    public void output(int h, int port) {
        seen.add("out:" + port);
        pool.free(h);
    }

    @Override
    public void flood(int h, int inPort) {
        seen.add("flood");
        pool.free(h);
    }

    @Override
    public void normal(int h, int inPort) {
        seen.add("normal");
        pool.free(h);
    }

    @Override
    public void drop(int h) {
        seen.add("drop");
        pool.free(h);
    }
}
