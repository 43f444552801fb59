package dev.panda.vswitch.journal;

/**
 * Chronicle Queue's process-wide switches, set before its first class loads (the launcher and the
 * test JVMs set the same as {@code -D} flags; see the vswitch README): no usage analytics sent
 * home, no banner, no disk-space monitor thread.
 */
final class Chronicle {

    private Chronicle() {}

    static void quiet() {
        set("chronicle.analytics.disable", "true");
        set("chronicle.announcer.disable", "true");
        set("chronicle.disk.monitor.disable", "true");
    }

    private static void set(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
