package dev.panda.vswitch.datapath;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Per-port counters of one data-path thread (a poller or a pipeline stage): written only by that
 * thread with opaque stores, read by any thread and summed over threads by the control side.
 */
public final class DropCounters {

    public static final int FILTER = 0;
    public static final int VLAN = 1;
    public static final int SAME_PORT = 2;
    public static final int MALFORMED = 3;
    public static final int FLOODS = 4;
    public static final int NO_BUFFER = 5;
    public static final int TX_FULL = 6;
    public static final int TABLE_FULL = 7;
    public static final int PIPELINE_FULL = 8;
    public static final int NO_PORT = 9;
    public static final int COUNT = 10;

    /** Names in the control API's {@code drops} map (FLOODS is reported on its own). */
    public static final String[] NAMES = {
        "filter",
        "vlan",
        "same_port",
        "malformed",
        "floods",
        "no_buffer",
        "tx_full",
        "table_full",
        "pipeline_full",
        "no_port"
    };

    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] c = new long[Snapshot.MAX_PORTS * COUNT];

    /** Adds {@code n} to counter {@code what} of port {@code port} (owner thread only). */
    public void add(int port, int what, long n) {
        int i = port * COUNT + what;
        LONGS.setOpaque(c, i, c[i] + n);
    }

    public long get(int port, int what) {
        return (long) LONGS.getOpaque(c, port * COUNT + what);
    }
}
