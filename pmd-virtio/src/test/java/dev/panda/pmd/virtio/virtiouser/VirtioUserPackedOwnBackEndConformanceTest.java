package dev.panda.pmd.virtio.virtiouser;

/**
 * The Port suite on net_virtio_user with {@code packed_vq=1} against panda's own net_vhost: both
 * ends of the packed ring are panda's (PackedDriverQueue and PackedDeviceQueue).
 */
class VirtioUserPackedOwnBackEndConformanceTest extends VirtioUserPortConformanceTest {

    @Override
    protected String frontArgs() {
        return ",packed_vq=1";
    }
}
