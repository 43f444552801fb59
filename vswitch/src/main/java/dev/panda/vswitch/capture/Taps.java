package dev.panda.vswitch.capture;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.dataplane.port.Port;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The running captures as the data path sees them: for each port id, the taps on its received
 * and on its transmitted frames (null when none). Immutable; the control side publishes a new one
 * with a volatile write ({@code Datapath.setTaps}) and the data path reads it once per pass.
 */
public final class Taps {

    public static final Taps NONE = new Taps(List.of(), 256);

    private final CaptureTap[][] rx;
    private final CaptureTap[][] tx;

    Taps(List<CaptureTap> taps, int maxPorts) {
        rx = new CaptureTap[maxPorts][];
        tx = new CaptureTap[maxPorts][];
        for (int id = 0; id < maxPorts; id++) {
            List<CaptureTap> r = new ArrayList<>();
            List<CaptureTap> t = new ArrayList<>();
            for (CaptureTap c : taps) {
                if (c.portId == id) {
                    if (c.rx) {
                        r.add(c);
                    }
                    if (c.tx) {
                        t.add(c);
                    }
                }
            }
            rx[id] = r.isEmpty() ? null : r.toArray(new CaptureTap[0]);
            tx[id] = t.isEmpty() ? null : t.toArray(new CaptureTap[0]);
        }
    }

    /** Offers frames received on {@code port} (id {@code id}) to its captures, if any. */
    public void received(int id, Port port, PacketPool pool, MemorySegment seg, int[] h, int n, int slot) {
        CaptureTap[] taps = rx[id];
        if (taps != null) {
            offer(taps, port, pool, seg, h, n, CaptureRecord.RX, slot);
        }
    }

    /** Offers frames about to be handed to {@code port} (id {@code id}) to its captures, if any. */
    public void sending(int id, Port port, PacketPool pool, MemorySegment seg, int[] h, int n, int slot) {
        CaptureTap[] taps = tx[id];
        if (taps != null) {
            offer(taps, port, pool, seg, h, n, CaptureRecord.TX, slot);
        }
    }

    private static void offer(
            CaptureTap[] taps, Port port, PacketPool pool, MemorySegment seg, int[] h, int n, int dir, int slot) {
        for (CaptureTap t : taps) {
            if (t.port == port) { // the same open device the capture was started on
                t.offer(pool, seg, h, n, dir, slot);
            }
        }
    }
}
