package dev.panda.pmd.virtio.vhost;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.panda.pmd.virtio.ring.DeviceQueue;
import dev.panda.pmd.virtio.ring.SingleRegionMemory;
import dev.panda.pmd.virtio.ring.SplitRing;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * {@link VringSlot}'s handoff: the poller brackets a burst with {@link VringSlot#enter()} /
 * {@link VringSlot#exit()}; the control thread calls {@link VringSlot#quiesce} and, when it
 * returns true, frees what the old state points into (here: overwrites a guest-memory word the
 * burst reads with 0, as an unmap would make it unreadable). The poller must never be inside a
 * burst holding the old state when that happens. This is a Dekker pattern (store seq / load live
 * against store live / load seq), so it needs the volatile (StoreLoad-ordered) store in
 * {@code enter}: {@code dev.panda.stress.broken.BrokenReleaseEnterVringSlotStress} runs the same actors
 * on a copy whose enter stores with release only, and shows the forbidden outcome.
 *
 * <p>r1: the poller got a state (1) or null (0); r2: the word it read inside the burst (85 intact,
 * 0 freed; -1 not read); r3: quiesce returned true (1) or timed out (0).
 */
@JCStressTest
@Description("VringSlot enter/exit vs quiesce: nothing is freed while a burst may still use it")
@Outcome(id = "0, -1, 1", expect = ACCEPTABLE, desc = "quiesce came first: the poller got null")
@Outcome(id = "1, 85, 1", expect = ACCEPTABLE, desc = "the burst came first: quiesce waited for its exit")
@Outcome(
        id = {"0, -1, 0", "1, 85, 0"},
        expect = ACCEPTABLE_INTERESTING,
        desc = "quiesce timed out (poller descheduled for 100 ms): nothing freed")
@Outcome(
        id = "1, 0, 1",
        expect = FORBIDDEN,
        desc = "quiesce returned and memory was freed while the poller was inside a burst with the old state")
@Outcome(expect = FORBIDDEN, desc = "impossible")
@State
public class VringSlotQuiesceStress {

    static final int INTACT = 85;
    private static final VringSlot.Live LIVE = live();

    private final VringSlot slot = new VringSlot();
    /** The guest memory the old state points into. */
    private final MemorySegment guest = Arena.ofAuto().allocate(64, 64);

    public VringSlotQuiesceStress() {
        guest.set(ValueLayout.JAVA_INT, 0, INTACT);
        slot.publish(LIVE);
    }

    @Actor
    public void poller(III_Result r) {
        VringSlot.Live l = slot.enter();
        if (l == null) {
            r.r1 = 0;
            r.r2 = -1;
        } else {
            r.r1 = 1;
            burstWork();
            r.r2 = guest.get(ValueLayout.JAVA_INT, 0);
        }
        slot.exit();
    }

    @Actor
    public void control(III_Result r) {
        boolean quiesced = slot.quiesce(100);
        if (quiesced) {
            guest.set(ValueLayout.JAVA_INT, 0, 0); // "unmapped"
        }
        r.r3 = quiesced ? 1 : 0;
    }

    /** A burst takes time; without it the poller's read races the free in a window of nanoseconds. */
    static void burstWork() {
        for (int i = 0; i < 8; i++) {
            Thread.onSpinWait();
        }
    }

    /** One published state over a small split ring in native memory (never touched by the test). */
    private static VringSlot.Live live() {
        int size = 8;
        MemorySegment mem = Arena.global().allocate(4096, 4096);
        var memory = SingleRegionMemory.ofNative(mem);
        DeviceQueue q = DeviceQueue.create(
                "stress",
                memory,
                size,
                mem.asSlice(0, SplitRing.descTableBytes(size)),
                mem.asSlice(1024, SplitRing.availRingBytes(size)),
                mem.asSlice(2048, SplitRing.usedRingBytes(size)),
                0,
                0);
        return new VringSlot.Live(q, null, null, DirtyLog.OFF);
    }
}
