package dev.panda.vswitch.journal;

/**
 * Chronicle Queue's process-wide switches, set before its first class loads (the launcher and the
 * test JVMs set the same as {@code -D} flags; see the vswitch README): no usage analytics sent
 * home, no banner, no disk-space monitor thread, and its logging at WARNING and above only.
 */
final class Chronicle {

    /** Held so the level stays (java.util.logging keeps loggers weakly). */
    private static final java.util.logging.Logger CHRONICLE_LOG = java.util.logging.Logger.getLogger("net.openhft");

    private Chronicle() {}

    static void quiet() {
        // its INFO lines (where it loaded from, file growth and mapping times) are not the operator's business
        if (CHRONICLE_LOG.getLevel() == null) {
            CHRONICLE_LOG.setLevel(java.util.logging.Level.WARNING);
        }
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
