package dev.panda.dataplane.port;

import dev.panda.dataplane.mem.PacketPool;

/**
 * What a driver gets besides its device string: the shared packet pool and the queue counts and
 * ring sizes the application asked for (a device string's own keys take precedence).
 */
public record PortContext(
        PacketPool pool, int portId, int rxQueues, int txQueues, int rxDescriptors, int txDescriptors) {

    public static final int DEFAULT_DESCRIPTORS = 1024;

    public static PortContext of(PacketPool pool, int portId) {
        return new PortContext(pool, portId, 1, 1, DEFAULT_DESCRIPTORS, DEFAULT_DESCRIPTORS);
    }
}
