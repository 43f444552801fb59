package dev.panda.perf;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Which two vswitch-loop runs count as having had the same placement (their traffic sides' cycles). */
class VswitchLoopPlacementTest {

    @Test
    void runsWithinAQuarterOfEachOtherShareAPlacement() {
        assertTrue(VswitchLoopComparison.samePlacement(122.3, 116.2));
        assertTrue(VswitchLoopComparison.samePlacement(116.2, 122.3));
        assertTrue(VswitchLoopComparison.samePlacement(100.0, 125.0));
    }

    @Test
    void theHostsTwoPlacementsAreTold() {
        // figures of one round on this machine: 122.6 in the fast placement, 307.6 in the slow one
        assertFalse(VswitchLoopComparison.samePlacement(122.6, 307.6));
        assertFalse(VswitchLoopComparison.samePlacement(100.0, 125.1));
    }

    @Test
    void aRunWithoutAFigureMatchesNothing() {
        assertFalse(VswitchLoopComparison.samePlacement(Double.NaN, 120.0));
        assertFalse(VswitchLoopComparison.samePlacement(120.0, Double.NaN));
        assertFalse(VswitchLoopComparison.samePlacement(0.0, 0.0));
    }
}
