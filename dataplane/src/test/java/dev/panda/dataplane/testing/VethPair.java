package dev.panda.dataplane.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A veth pair for one test: {@link #hostIf} stays in this (root) namespace for panda, its peer
 * {@link #peerIf} lives in a namespace of its own, created and removed here. Addresses come from
 * 198.18.0.0/15: host {@code 198.18.N.1/24}, peer {@code 198.18.N.2/24}. Names carry the pid so
 * parallel test JVMs never collide. Needs root (ip netns / ip link).
 */
public final class VethPair implements AutoCloseable {

    private static final AtomicInteger SEQ = new AtomicInteger();

    public final String ns;
    public final String hostIf;
    public final String peerIf;
    public final int subnet;

    private VethPair(String ns, String hostIf, String peerIf, int subnet) {
        this.ns = ns;
        this.hostIf = hostIf;
        this.peerIf = peerIf;
        this.subnet = subnet;
    }

    /** Creates the namespace and the pair, both ends up, addresses assigned. */
    public static VethPair create() {
        return create(1);
    }

    /** A pair whose ends have {@code queues} rx and tx queues each. */
    public static VethPair create(int queues) {
        long pid = ProcessHandle.current().pid();
        int n = SEQ.incrementAndGet();
        String tag = Long.toString(pid % 100000, 36) + n;
        int subnet = (int) ((pid * 7 + n * 13) % 250) + 2;
        VethPair p = new VethPair("pxns" + tag, "pxh" + tag, "pxp" + tag, subnet);
        try {
            sh("ip", "netns", "add", p.ns);
            String q = Integer.toString(queues);
            sh(
                    "ip",
                    "link",
                    "add",
                    p.hostIf,
                    "numtxqueues",
                    q,
                    "numrxqueues",
                    q,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    p.peerIf,
                    "numtxqueues",
                    q,
                    "numrxqueues",
                    q,
                    "netns",
                    p.ns);
            // no IPv6 on the pair: router and neighbour solicitations would be stray frames
            sh("sysctl", "-qw", "net.ipv6.conf." + p.hostIf + ".disable_ipv6=1");
            p.inNs("sysctl", "-qw", "net.ipv6.conf." + p.peerIf + ".disable_ipv6=1");
            sh("ip", "addr", "add", p.hostAddr() + "/24", "dev", p.hostIf);
            sh("ip", "link", "set", p.hostIf, "up");
            p.inNs("ip", "addr", "add", p.peerAddr() + "/24", "dev", p.peerIf);
            p.inNs("ip", "link", "set", p.peerIf, "up");
            p.inNs("ip", "link", "set", "lo", "up");
            return p;
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    public String hostAddr() {
        return "198.18." + subnet + ".1";
    }

    public String peerAddr() {
        return "198.18." + subnet + ".2";
    }

    /** Runs a command inside the namespace; fails with its output when it exits non-zero. */
    public String inNs(String... cmd) {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        all.addAll(List.of(cmd));
        return sh(all.toArray(String[]::new));
    }

    /** Runs a command inside the namespace and returns its exit status (output discarded). */
    public int inNsStatus(String... cmd) {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        all.addAll(List.of(cmd));
        return run(all, 120).status;
    }

    /**
     * Sends {@code frames} from the peer end through an AF_PACKET raw socket inside the
     * namespace ({@code count} times each), with a short python3 program.
     */
    public void sendRaw(List<byte[]> frames, int count) {
        StringBuilder hex = new StringBuilder();
        for (byte[] f : frames) {
            hex.append(java.util.HexFormat.of().formatHex(f)).append(' ');
        }
        String py = "import socket,sys\n"
                + "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n"
                + "s.bind((sys.argv[1],0))\n"
                + "fs=[bytes.fromhex(h) for h in sys.argv[3].split()]\n"
                + "for i in range(int(sys.argv[2])):\n"
                + "  for f in fs: s.send(f)\n";
        inNs(
                "/usr/bin/python3",
                "-c",
                py,
                peerIf,
                Integer.toString(count),
                hex.toString().trim());
    }

    /**
     * Starts sending {@code frame} from the peer end again and again, as fast as one AF_PACKET raw
     * socket inside the namespace takes it (a python3 program, a few hundred thousand frames a
     * second), until the returned process is destroyed: a continuous stream on any kernel, where
     * XDP live frames may be refused (EPERM on some). The caller ends it by its PID.
     */
    public Process streamRaw(byte[] frame) throws java.io.IOException {
        String py = "import socket,sys\n"
                + "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n"
                + "s.bind((sys.argv[1],0))\n"
                + "f=bytes.fromhex(sys.argv[2])\n"
                + "while True:\n"
                + "  try:\n"
                + "    s.send(f)\n"
                + "  except BlockingIOError:\n"
                + "    pass\n";
        return python(py, peerIf, java.util.HexFormat.of().formatHex(frame))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
    }

    /** A python3 program {@code py} with {@code args}, to start inside the namespace. */
    private ProcessBuilder python(String py, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "/usr/bin/python3", "-c", py));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd);
    }

    /**
     * Starts capturing on the peer end (an AF_PACKET socket in the namespace) the frames whose
     * UDP source port is {@code sport}; {@link Capture#frames()} ends the capture after
     * {@code seconds} of silence and returns them.
     */
    public Capture capture(int sport, double seconds) {
        String py = "import socket,sys\n"
                + "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.htons(3))\n"
                + "s.bind((sys.argv[1],0))\n"
                + "s.settimeout(float(sys.argv[3]))\n"
                + "print('ready',flush=True)\n"
                + "sp=int(sys.argv[2]).to_bytes(2,'big')\n"
                + "while True:\n"
                + "  try: f,a=s.recvfrom(65535)\n"
                + "  except socket.timeout: break\n"
                + "  if a[2]==socket.PACKET_OUTGOING: continue\n"
                + "  if len(f)>=36 and f[12:14]==b'\\x08\\x00' and f[23]==17 and f[34:36]==sp: print(f.hex(),flush=True)\n";
        try {
            Process p = python(py, peerIf, Integer.toString(sport), Double.toString(seconds))
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            var in = new java.io.BufferedReader(
                    new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
            String first = in.readLine();
            if (!"ready".equals(first)) {
                p.destroyForcibly();
                throw new IllegalStateException("capture in " + ns + " did not start: " + first);
            }
            return new Capture(p, in);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start a capture in " + ns, e);
        }
    }

    /** A running capture; {@link #frames()} waits for it to end. */
    public record Capture(Process process, java.io.BufferedReader out) {
        public List<byte[]> frames() {
            List<byte[]> l = new ArrayList<>();
            try {
                for (String line; (line = out.readLine()) != null; ) {
                    l.add(java.util.HexFormat.of().parseHex(line.trim()));
                }
                process.waitFor(60, TimeUnit.SECONDS);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                process.destroyForcibly();
            }
            return l;
        }
    }

    /** A UDP frame peer -> host with both ends' MACs; payload bytes derive from {@code seq}. */
    public byte[] udpToHost(int sport, int dport, int seq, int payload) {
        byte[] f = Frames.ipv4(Frames.v4(peerAddr()), Frames.v4(hostAddr()), 17, sport, dport, payload, -1);
        System.arraycopy(hostMac(), 0, f, 0, 6);
        System.arraycopy(peerMac(), 0, f, 6, 6);
        for (int i = 0; i < payload; i++) {
            f[42 + i] = (byte) (seq * 31 + i);
        }
        return f;
    }

    /** {@code n} frames of {@link #udpToHost} to UDP port 9000, seq 0..n-1. */
    public List<byte[]> udpFramesToHost(int n, int sport, int payload) {
        List<byte[]> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(udpToHost(sport, 9000, i, payload));
        }
        return l;
    }

    /** The peer's MAC as 6 bytes. */
    public byte[] peerMac() {
        return mac(inNs("cat", "/sys/class/net/" + peerIf + "/address"));
    }

    public byte[] hostMac() {
        return mac(sh("cat", "/sys/class/net/" + hostIf + "/address"));
    }

    private static byte[] mac(String s) {
        return java.util.HexFormat.ofDelimiter(":").parseHex(s.trim());
    }

    @Override
    public void close() {
        run(List.of("ip", "link", "del", hostIf), 30);
        run(List.of("ip", "netns", "del", ns), 30);
    }

    /**
     * One pair for a whole test class, created before its first test and removed after its
     * last: {@code @RegisterExtension static final VethPair.PerClass VETH = new VethPair.PerClass();}
     */
    public static final class PerClass implements BeforeAllCallback, AfterAllCallback {

        private VethPair pair;

        @Override
        public void beforeAll(ExtensionContext context) {
            pair = create();
        }

        @Override
        public void afterAll(ExtensionContext context) {
            if (pair != null) {
                pair.close();
                pair = null;
            }
        }

        /** The pair; only between the class's first and last test. */
        public VethPair get() {
            if (pair == null) {
                throw new IllegalStateException("VethPair.PerClass used outside its test class's lifetime");
            }
            return pair;
        }
    }

    public static String sh(String... cmd) {
        Result r = run(List.of(cmd), 120);
        if (r.status != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " exited " + r.status + ": " + r.output.trim());
        }
        return r.output;
    }

    record Result(int status, String output) {}

    static Result run(List<String> cmd, int timeoutSeconds) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + cmd + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + cmd, e);
        }
    }
}
