package dev.panda.vswitch.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panda.pmd.virtio.guest.Initramfs;
import dev.panda.pmd.virtio.guest.QemuGuest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.MatchResult;
import java.util.regex.Pattern;

/**
 * A QEMU guest (TCG, Debian's kernel, busybox) whose NICs are virtio-net-pci devices on
 * {@code -netdev vhost-user}, driven over its serial console: its /init gives eth0 the address the
 * kernel command line names ({@code panda.ip=A/LEN}), prints {@code PANDA-READY}, then reads shell
 * commands from the console one line at a time. {@link #exec} types one command, waits for the
 * guest's numbered end marker and returns what the command printed and its exit status.
 */
final class Guest implements AutoCloseable {

    static final Duration BOOT = Duration.ofSeconds(240);
    private static final Path CACHE = Path.of("target", "guest");

    /**
     * The guest's /init script after the modules are loaded: each line typed on the console runs
     * in its own {@code sh -c} (so {@code exit} or a syntax error ends that command only), between
     * the numbered markers {@code PANDA-BEGIN-n} and {@code PANDA-END-n rc=S}. {@code stty -echo}:
     * the console does not echo what the test types.
     */
    private static final String SCRIPT = """
            stty -echo
            sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
            ip link set lo up
            for a in $(cat /proc/cmdline); do case $a in panda.ip=*) IP=${a#panda.ip=};; esac; done
            ip addr add $IP dev eth0
            ip link set eth0 up
            echo "PANDA-READY eth0 $(cat /sys/class/net/eth0/address) $IP"
            n=0
            while read -r line; do
                n=$((n+1))
                echo "PANDA-BEGIN-$n"
                sh -c "$line" 2>&1
                echo "PANDA-END-$n rc=$?"
            done
            """;

    /** One NIC: {@code -chardev socket} with {@code chardev} options (path, server...), a MAC. */
    record Nic(String chardev, String mac) {}

    private final String name;
    private final QemuGuest qemu;
    private int seq;

    private Guest(String name, QemuGuest qemu) {
        this.name = name;
        this.qemu = qemu;
    }

    /** The initramfs every guest boots (built once per target/ directory). */
    static Path initramfs() {
        QemuGuest.requireInstalled();
        return Initramfs.forHostKernel()
                .modules("virtio_pci", "virtio_net", "8021q")
                .script(SCRIPT)
                .build(CACHE);
    }

    /**
     * Starts QEMU with {@code nics} (eth0, eth1, ... in this order) and eth0 at {@code ip}
     * ("198.19.64.1/24"); does not wait for the boot ({@link #awaitReady}).
     */
    static Guest start(String name, Path initramfs, String ip, Path log, List<Nic> nics) {
        List<String> args = new ArrayList<>();
        for (int i = 0; i < nics.size(); i++) {
            Nic n = nics.get(i);
            args.addAll(List.of(
                    "-chardev",
                    "socket,id=ch" + i + "," + n.chardev(),
                    "-netdev",
                    "vhost-user,id=net" + i + ",chardev=ch" + i,
                    // vectors=0: QEMU 7.2 under TCG crashes starting vhost-net with MSI-X
                    "-device",
                    "virtio-net-pci,netdev=net" + i + ",mac=" + n.mac() + ",vectors=0,romfile="));
        }
        QemuGuest q = QemuGuest.builder(
                        QemuGuest.kernel(Initramfs.forHostKernel().kernelRelease()), initramfs)
                .append("panda.ip=" + ip)
                .args(args.toArray(String[]::new))
                .start(log);
        return new Guest(name, q);
    }

    /** Waits for /init's PANDA-READY line. */
    MatchResult awaitReady() {
        return qemu.await(Pattern.compile("PANDA-READY eth0 (\\S+) (\\S+)"), BOOT);
    }

    String name() {
        return name;
    }

    long pid() {
        return qemu.pid();
    }

    /** What one command printed (stdout and stderr) and its exit status. */
    record Result(int rc, String output) {}

    /** Types {@code command} (one line of busybox sh) and waits for it to finish. */
    synchronized Result exec(String command, Duration timeout) {
        int n = ++seq;
        if (command.contains("\n")) {
            throw new IllegalArgumentException("one line: " + command);
        }
        qemu.type(command);
        MatchResult end = qemu.await(Pattern.compile("PANDA-END-" + n + " rc=(\\d+)"), timeout);
        String console = qemu.console();
        String begin = "PANDA-BEGIN-" + n + "\n";
        int from = console.indexOf(begin);
        String out = from < 0 || from + begin.length() > end.start()
                ? ""
                : console.substring(from + begin.length(), end.start());
        return new Result(Integer.parseInt(end.group(1)), out);
    }

    /** As {@link #exec}, failing with the output unless the command exits 0. */
    String run(String command, Duration timeout) {
        Result r = exec(command, timeout);
        assertEquals(0, r.rc(), name + "$ " + command + "\n" + r.output() + "\n" + qemu.tail());
        return r.output();
    }

    String tail() {
        return qemu.tail();
    }

    String console() {
        return qemu.console();
    }

    /** SIGKILL to QEMU, as a crash would end it; then waits for it to be gone. */
    void kill() {
        ProcessHandle.of(qemu.pid()).ifPresent(ProcessHandle::destroyForcibly);
        qemu.close();
    }

    @Override
    public void close() {
        qemu.close();
    }
}
