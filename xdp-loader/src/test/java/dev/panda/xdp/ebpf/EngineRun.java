package dev.panda.xdp.ebpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/** Runs a userspace program on byte-array packets with BPF_PROG_TEST_RUN's 256 bytes of headroom. */
final class EngineRun {

    static final int HEADROOM = 256;

    /** A verdict and the packet as the program left it. */
    record Result(int verdict, byte[] data) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Result r && r.verdict == verdict && Arrays.equals(r.data, data);
        }

        @Override
        public int hashCode() {
            return verdict * 31 + Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            return "verdict " + verdict + ", " + data.length + " bytes " + Hex.of(data);
        }
    }

    final XdpProgram program;
    final XdpContext ctx;
    final MemorySegment buffer = Arena.ofAuto().allocate(HEADROOM + 4096, 64);

    EngineRun(XdpProgram program, XdpContext ctx) {
        this.program = program;
        this.ctx = ctx;
    }

    Result run(byte[] packet) {
        buffer.fill((byte) 0);
        MemorySegment.copy(MemorySegment.ofArray(packet), 0, buffer, HEADROOM, packet.length);
        ctx.setPacket(buffer, 0, HEADROOM, HEADROOM + packet.length);
        int v = program.run(ctx);
        return new Result(
                v, buffer.asSlice(ctx.data(), ctx.dataEnd() - ctx.data()).toArray(ValueLayout.JAVA_BYTE));
    }
}
