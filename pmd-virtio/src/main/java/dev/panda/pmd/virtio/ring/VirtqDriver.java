package dev.panda.pmd.virtio.ring;

/**
 * What the driver side of one virtqueue does in either format: {@link DriverQueue} (split, §2.7)
 * or {@link PackedDriverQueue} (packed, §2.8). For code that runs the same steps over both, a
 * benchmark or a test front-end; the ports' hot paths keep the concrete classes.
 */
public interface VirtqDriver {

    /** Offers one device-readable buffer (a packet to transmit). False if no descriptor is free. */
    boolean addOut(long addr, int len, int token);

    /** Offers one device-writable buffer (room for a packet to receive). */
    boolean addIn(long addr, int len, int token);

    /** Makes what was added visible to the device; true if the device wants a kick for it. */
    boolean publish();

    /**
     * Takes up to {@code max} used buffers: their tokens and written lengths go to
     * {@code tokensOut}/{@code lensOut} from index 0. Returns how many.
     */
    int harvest(int[] tokensOut, int[] lensOut, int max);
}
