package dev.panda.vswitch.capture;

import net.openhft.chronicle.queue.RollCycles;

/** The roll cycles a capture may ask for, by name. */
final class Rolls {

    private Rolls() {}

    static RollCycles cycle(String roll) {
        return switch (roll) {
            case "5min" -> RollCycles.FIVE_MINUTELY;
            case "10min" -> RollCycles.TEN_MINUTELY;
            case "20min" -> RollCycles.TWENTY_MINUTELY;
            case "30min" -> RollCycles.HALF_HOURLY;
            case "hour" -> RollCycles.FAST_HOURLY;
            case "day" -> RollCycles.FAST_DAILY;
            default ->
                throw CaptureSpec.bad("roll: '" + roll + "' is not 5min, 10min, 20min, 30min, hour or day", "roll");
        };
    }
}
