package dev.panda.pmd.virtio.guest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The kernel the vDPA guests boot: bookworm-backports' {@code linux-image-6.12.*+deb12-amd64}, which
 * ships vdpa, vduse, virtio_vdpa, vhost_vdpa, vhost_iotlb and vhost_net as modules (the host's and
 * bookworm's kernels have no vDPA). {@code scripts/setup} (lib/backports-kernel.sh) extracts it into
 * {@link #DIR} without installing it: {@code VERSION} ("PACKAGE VERSION RELEASE"),
 * {@code boot/vmlinuz-RELEASE} and {@code lib/modules/RELEASE} with plain .ko files and a
 * modules.dep.
 */
public record BackportsKernel(String packageName, String version, String release, Path root) {

    public static final Path DIR = Path.of("/var/cache/panda/kernels/bookworm-backports");

    /**
     * Under QEMU 7.2's TCG this kernel must not see CMPXCHG16B: with it about a third of boots
     * crash in the slab allocator.
     */
    public static final String CPU = "qemu64,-cx16";

    /** The cached kernel; fails with the reason (and what to run) when it is not there. */
    public static BackportsKernel require() {
        Path marker = DIR.resolve("VERSION");
        if (!Files.isReadable(marker)) {
            throw new AssertionError(marker + " not found: scripts/setup fetches bookworm-backports' 6.12 kernel"
                    + " (the guest for the vDPA proofs) into " + DIR);
        }
        String[] f;
        try {
            f = Files.readString(marker).trim().split("\\s+");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (f.length != 3) {
            throw new AssertionError(marker + " is not 'PACKAGE VERSION RELEASE': run scripts/setup again");
        }
        BackportsKernel k = new BackportsKernel(f[0], f[1], f[2], DIR);
        if (!Files.isReadable(k.kernel()) || !Files.isReadable(k.modulesDir().resolve("modules.dep"))) {
            throw new AssertionError(k + " is incomplete in " + DIR + ": remove it and run scripts/setup");
        }
        QemuGuest.requireQemu();
        return k;
    }

    public Path kernel() {
        return root.resolve("boot/vmlinuz-" + release);
    }

    public Path modulesDir() {
        return root.resolve("lib/modules").resolve(release);
    }

    /** An initramfs for this kernel's modules. */
    public Initramfs initramfs() {
        return Initramfs.forKernel(root, release);
    }

    /**
     * A QEMU guest booting this kernel with {@link #CPU}, its vCPUs on one TCG thread: with a TCG
     * thread per vCPU, two of three clean-clone runs saw this kernel die of "Oops: int3" in code it
     * was live-patching (once {@code netif_receive_skb} during a ping, once {@code sched_clock_cpu}
     * during boot): another vCPU met the patch's int3 after the patch had finished.
     */
    public QemuGuest.Builder qemu(Path initramfs) {
        return QemuGuest.builder(kernel(), initramfs).cpu(CPU).oneTcgThread();
    }
}
