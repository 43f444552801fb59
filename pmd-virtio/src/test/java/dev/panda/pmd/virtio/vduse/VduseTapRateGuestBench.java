package dev.panda.pmd.virtio.vduse;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.dataplane.port.Port;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.guest.GuestCases;
import dev.panda.pmd.virtio.guest.QemuGuest;
import dev.panda.pmd.virtio.guest.VdpaGuest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * "A port that gives the host kernel a NIC is faster than a TAP": {@link VduseTapRateGuestMain} in
 * the vDPA guest (bookworm-backports' 6.12 under TCG) measures frames per second between the guest
 * kernel and panda through net_vduse and through net_tap, both directions, 60 and 1514 bytes, in
 * interleaved rounds with an A/A spread. A benchmark, not a proof: its name does not end in Test, so
 * a plain {@code mvn test} leaves it out; run it with
 *
 * <pre>{@code
 * ./mvnw -B -q -pl pmd-virtio test -Dtest=VduseTapRateGuestBench -Dpanda.rate.pairs=7 -Dpanda.rate.seconds=3
 * }</pre>
 *
 * {@code -Dpanda.rate.vduse.args=,event_idx=0,mrg_rxbuf=0} appends devargs to the net_vduse port
 * (here: the offer without EVENT_IDX and MRG_RXBUF, as before they were offered).
 *
 * The results go to the test's output and to {@code pmd-virtio/target/guest/vduse-vs-tap.txt}.
 * Nothing about the rates is asserted (TCG); the run fails only when the guest or a run fails.
 */
@Tag("peer")
class VduseTapRateGuestBench {

    @Test
    void netVduseAgainstNetTapInTheGuest() throws IOException {
        int pairs = Integer.getInteger("panda.rate.pairs", 7);
        double seconds = Double.parseDouble(System.getProperty("panda.rate.seconds", "3"));
        // 4 series x (pairs rounds x 3 runs + 2 warm-up runs), each run plus its settling time, with a margin
        long budget = 300 + (long) (4 * (pairs * 3 + 2) * (seconds + 1.5));
        long t0 = System.nanoTime();
        String console;
        try (QemuGuest g = VdpaGuest.of(VduseTapRateGuestMain.class)
                .classes(VduseDevice.class, Port.class, Posix.class)
                .args(pairs + " " + seconds + " " + System.getProperty("panda.rate.vduse.args", ""))
                .start(Path.of("target", "guest"), Path.of("target", "guest", "rate-console.log"))) {
            g.await(VdpaGuest.UP, Duration.ofSeconds(180));
            g.await(VdpaGuest.EXIT, Duration.ofSeconds(budget));
            g.awaitExit(Duration.ofSeconds(60));
            console = g.console();
        }
        String report = console.lines()
                .filter(l -> l.startsWith("PANDA-RATE"))
                .map(l -> l.replaceFirst("^PANDA-RATE(-\\w+)? ", ""))
                .collect(Collectors.joining("\n"));
        report += String.format("%nguest boot to power-off %d s%n", (System.nanoTime() - t0) / 1_000_000_000L);
        Files.writeString(Path.of("target", "guest", "vduse-vs-tap.txt"), report);
        System.out.println(report);
        assertTrue(console.contains(VdpaGuest.EXIT + " rc=0"), GuestCases.tail(console, 60));
    }
}
