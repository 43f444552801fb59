package dev.panda.xdp.ebpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panda.xdp.bpf.BpfMap;
import dev.panda.xdp.bpf.BpfObject;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One eBPF object loaded twice: in the kernel (libbpf, BPF_PROG_TEST_RUN) and in the userspace
 * engine (interpreter and translator, each over its own maps). Map writes go to all of them;
 * {@link #run} requires the same verdict and packet from each; {@link #assertSameMaps} the same
 * keys and values (per-CPU values summed).
 */
final class KernelDifferential implements AutoCloseable {

    final BpfObject kernel;
    final dev.panda.xdp.bpf.BpfProgram kernelProgram;
    final List<EbpfObject> users = new ArrayList<>();
    final List<EngineRun> engines = new ArrayList<>();
    final List<String> engineNames = new ArrayList<>();
    int kernelRuns;
    int shortPackets;

    KernelDifferential(Path object, String program) {
        kernel = BpfObject.open(object).load();
        kernelProgram = kernel.program(program);
        int cpus = BpfMap.possibleCpus();
        EbpfObject a = EbpfObject.open(object, cpus);
        EbpfObject b = EbpfObject.open(object, cpus);
        users.add(a);
        users.add(b);
        engines.add(new EngineRun(new Interpreter(a.program(program)), a.newContext(0)));
        engineNames.add("interpreter");
        engines.add(new EngineRun(Translator.translate(b.program(program)), b.newContext(cpus - 1)));
        engineNames.add("translator");
    }

    /** BPF_ANY update of {@code map} everywhere; {@code value} is one CPU's value for per-CPU maps. */
    void update(String map, byte[] key, byte[] value) {
        BpfMap k = kernel.map(map);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = k.newValue(a);
            int stride = (value.length + 7) & ~7;
            for (long off = 0; off < v.byteSize(); off += k.perCpu() ? stride : v.byteSize()) {
                MemorySegment.copy(MemorySegment.ofArray(value), 0, v, off, value.length);
            }
            k.update(a.allocateFrom(ValueLayout.JAVA_BYTE, key), v);
            for (EbpfObject u : users) {
                EbpfMap m = u.map(map);
                assertEquals(0, m.update(key, v.toArray(ValueLayout.JAVA_BYTE), EbpfMap.BPF_ANY), "update " + map);
            }
        }
    }

    /** Runs {@code packet} everywhere; returns the verdict they agree on. */
    int run(byte[] packet) {
        EngineRun.Result first = null;
        String firstName = null;
        if (packet.length >= 14) {
            // BPF_PROG_TEST_RUN refuses XDP input shorter than an Ethernet header (EINVAL)
            var k = kernelProgram.testRun(packet, 1);
            first = new EngineRun.Result(k.retval(), k.dataOut());
            firstName = "kernel";
            kernelRuns++;
        } else {
            shortPackets++;
        }
        for (int i = 0; i < engines.size(); i++) {
            EngineRun.Result r = engines.get(i).run(packet);
            if (first == null) {
                first = r;
                firstName = engineNames.get(i);
            } else if (!first.equals(r)) {
                fail(engineNames.get(i) + " differs from " + firstName + " on packet " + Hex.of(packet) + ":\n  "
                        + firstName + ": " + first + "\n  " + engineNames.get(i) + ": " + r);
            }
            assertEquals(
                    0,
                    engines.get(i).ctx.faults(),
                    engineNames.get(i) + " faulted: " + engines.get(i).ctx.lastFault());
        }
        return first.verdict();
    }

    /** Every map but XSKMAPs (the kernel does not read those back): same keys, same (summed) values. */
    void assertSameMaps() {
        for (BpfMap k : kernel.maps()) {
            if (k.type() == MapSpec.XSKMAP) {
                continue;
            }
            Map<String, String> expected = new TreeMap<>();
            k.forEach((key, value) -> expected.put(
                    Hex.of(key.toArray(ValueLayout.JAVA_BYTE)),
                    Hex.of(summed(
                            value.asSlice(0, k.valueBufferSize()).toArray(ValueLayout.JAVA_BYTE),
                            k.valueSize(),
                            k.perCpu() ? BpfMap.possibleCpus() : 1))));
            for (int i = 0; i < users.size(); i++) {
                EbpfMap m = users.get(i).map(k.name());
                Map<String, String> actual = new TreeMap<>();
                for (byte[] key : m.keys()) {
                    actual.put(
                            Hex.of(key), Hex.of(summed(m.lookup(key), m.spec().valueSize(), m.cpus())));
                }
                assertEquals(
                        expected, actual, "map " + k.name() + " of the " + engineNames.get(i) + " vs the kernel's");
            }
        }
    }

    /** The interpreter's maps against the translator's (after packets the kernel cannot run). */
    void assertEnginesSameMaps() {
        for (EbpfMap a : users.get(0).maps()) {
            EbpfMap b = users.get(1).map(a.name());
            Map<String, String> ma = new TreeMap<>();
            Map<String, String> mb = new TreeMap<>();
            for (byte[] key : a.keys()) {
                ma.put(Hex.of(key), Hex.of(summed(a.lookup(key), a.spec().valueSize(), a.cpus())));
            }
            for (byte[] key : b.keys()) {
                mb.put(Hex.of(key), Hex.of(summed(b.lookup(key), b.spec().valueSize(), b.cpus())));
            }
            assertEquals(ma, mb, "map " + a.name() + ": interpreter vs translator");
        }
    }

    private static byte[] summed(byte[] v, int valueSize, int cpus) {
        return cpus == 1 ? v : EbpfMap.sumPerCpu(v, valueSize, cpus);
    }

    @Override
    public void close() {
        kernel.close();
    }
}
