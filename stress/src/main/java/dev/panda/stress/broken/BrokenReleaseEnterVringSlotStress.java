package dev.panda.stress.broken;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

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
 * The actors and outcomes of {@code VringSlotQuiesceStress} on {@link ReleaseEnterVringSlot}, the
 * copy with the release-only store in enter. Expected to FAIL (forbidden "1, 0, 1" observed):
 * that is the proof the real test can catch the bug. scripts/stress leaves tests named
 * {@code Broken*} out unless selected with -t; run it by hand (stress/README.md).
 */
@JCStressTest
@Description("BROKEN on purpose (VringSlot with a release store in enter): must show the forbidden outcome")
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
public class BrokenReleaseEnterVringSlotStress {

    private static final Object LIVE = new Object();

    private final ReleaseEnterVringSlot slot = new ReleaseEnterVringSlot();
    private final MemorySegment guest = Arena.ofAuto().allocate(64, 64);

    public BrokenReleaseEnterVringSlotStress() {
        guest.set(ValueLayout.JAVA_INT, 0, 85);
        slot.publish(LIVE);
    }

    @Actor
    public void poller(III_Result r) {
        Object l = slot.enter();
        if (l == null) {
            r.r1 = 0;
            r.r2 = -1;
        } else {
            r.r1 = 1;
            for (int i = 0; i < 8; i++) {
                Thread.onSpinWait();
            }
            r.r2 = guest.get(ValueLayout.JAVA_INT, 0);
        }
        slot.exit();
    }

    @Actor
    public void control(III_Result r) {
        boolean quiesced = slot.quiesce(100);
        if (quiesced) {
            guest.set(ValueLayout.JAVA_INT, 0, 0);
        }
        r.r3 = quiesced ? 1 : 0;
    }
}
