package dev.panda.vswitch;

import dev.panda.dataplane.mem.PacketPool;
import dev.panda.jextract.Posix;
import dev.panda.vswitch.config.PmdConfig;
import dev.panda.vswitch.config.VswitchConfig;
import java.util.List;

/** Tests' vswitch with nothing in it yet: no bridges, one rtc pmd on the last CPU allowed, idle yield. */
public final class EmptyVswitch {

    private EmptyVswitch() {}

    public static Vswitch start(PacketPool pool) {
        int[] cpus = Posix.getAffinity();
        return Vswitch.start(
                new VswitchConfig(new PmdConfig(List.of(), PmdConfig.Mode.RTC, "yield", null, 256), List.of()),
                pool,
                new int[] {cpus[cpus.length - 1]},
                false);
    }
}
