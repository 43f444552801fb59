package dev.panda.pmd.virtio.virtiouser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.jextract.uapi.Uapi;
import dev.panda.jextract.uapi.vhost_iotlb_msg;
import dev.panda.jextract.uapi.vhost_msg_v2;
import dev.panda.jextract.uapi.vhost_vdpa_config;
import dev.panda.jextract.uapi.vhost_vdpa_iova_range;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generated vhost-vdpa layouts panda writes and reads against the C compiler's view of
 * linux/vhost_types.h (clang, from scripts/setup, compiles a program that prints every size and
 * offset) and against the argument sizes the generated ioctl numbers encode; the IOTLB message's
 * bytes.
 */
class VdpaAbiTest {

    @TempDir
    Path dir;

    @Test
    void layoutsMatchTheInstalledHeader() throws Exception {
        Path src = dir.resolve("abi.c");
        Files.writeString(src, """
                #include <stdio.h>
                #include <stddef.h>
                #include <linux/vhost_types.h>
                int main(void) {
                  printf("iotlb %zu %zu %zu %zu %zu %zu\\n", sizeof(struct vhost_iotlb_msg),
                    offsetof(struct vhost_iotlb_msg, iova), offsetof(struct vhost_iotlb_msg, size),
                    offsetof(struct vhost_iotlb_msg, uaddr), offsetof(struct vhost_iotlb_msg, perm),
                    offsetof(struct vhost_iotlb_msg, type));
                  printf("v2 %zu %zu %zu %zu\\n", sizeof(struct vhost_msg_v2), offsetof(struct vhost_msg_v2, type),
                    offsetof(struct vhost_msg_v2, asid), offsetof(struct vhost_msg_v2, iotlb));
                  printf("config %zu %zu %zu\\n", sizeof(struct vhost_vdpa_config),
                    offsetof(struct vhost_vdpa_config, off), offsetof(struct vhost_vdpa_config, len));
                  printf("range %zu %zu %zu\\n", sizeof(struct vhost_vdpa_iova_range),
                    offsetof(struct vhost_vdpa_iova_range, first), offsetof(struct vhost_vdpa_iova_range, last));
                  return 0;
                }
                """);
        Path exe = dir.resolve("abi");
        run("clang", "-o", exe.toString(), src.toString());
        Map<String, long[]> c = new HashMap<>();
        for (String line : run(exe.toString()).split("\n")) {
            String[] f = line.trim().split(" ");
            long[] v = new long[f.length - 1];
            for (int i = 1; i < f.length; i++) {
                v[i - 1] = Long.parseLong(f[i]);
            }
            c.put(f[0], v);
        }
        var iotlb = vhost_iotlb_msg.layout();
        assertEquals(arr(c.get("iotlb")), arr(new long[] {
            iotlb.byteSize(),
            vhost_iotlb_msg.iova$offset(),
            vhost_iotlb_msg.size$offset(),
            vhost_iotlb_msg.uaddr$offset(),
            vhost_iotlb_msg.perm$offset(),
            vhost_iotlb_msg.type$offset()
        }));
        assertEquals(arr(c.get("v2")), arr(new long[] {
            vhost_msg_v2.sizeof(), vhost_msg_v2.type$offset(), vhost_msg_v2.asid$offset(), vhost_msg_v2.iotlb$offset()
        }));
        assertEquals(arr(c.get("config")), arr(new long[] {
            vhost_vdpa_config.sizeof(), vhost_vdpa_config.off$offset(), vhost_vdpa_config.len$offset()
        }));
        assertEquals(arr(c.get("range")), arr(new long[] {
            vhost_vdpa_iova_range.sizeof(), vhost_vdpa_iova_range.first$offset(), vhost_vdpa_iova_range.last$offset()
        }));
    }

    @Test
    void ioctlNumbersEncodeTheSameSizes() {
        assertEquals(vhost_vdpa_config.sizeof(), VdpaAbi.ioctlSize(Uapi.VHOST_VDPA_GET_CONFIG()));
        assertEquals(vhost_vdpa_iova_range.sizeof(), VdpaAbi.ioctlSize(Uapi.VHOST_VDPA_GET_IOVA_RANGE()));
        assertEquals(4, VdpaAbi.ioctlSize(Uapi.VHOST_VDPA_GET_DEVICE_ID()));
        assertEquals(1, VdpaAbi.ioctlSize(Uapi.VHOST_VDPA_SET_STATUS()));
        assertEquals(2, VdpaAbi.ioctlSize(Uapi.VHOST_VDPA_GET_VRING_NUM()));
        assertEquals(8, VdpaAbi.ioctlSize(Uapi.VHOST_SET_BACKEND_FEATURES()));
    }

    @Test
    void iotlbUpdateMessageBytes() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = vhost_msg_v2.allocate(a);
            m.fill((byte) 0x5a); // every byte is rewritten
            VdpaAbi.iotlbMessage(
                    m, Uapi.VHOST_IOTLB_UPDATE(), 0x4000_0000L, 0x20_0000L, 0x7f12_3456_7000L, Uapi.VHOST_ACCESS_RW());
            assertEquals(72, m.byteSize());
            assertEquals(Uapi.VHOST_IOTLB_MSG_V2(), m.get(ValueLayout.JAVA_INT, 0));
            assertEquals(0, m.get(ValueLayout.JAVA_INT, 4), "asid");
            assertEquals(0x4000_0000L, m.get(ValueLayout.JAVA_LONG, 8));
            assertEquals(0x20_0000L, m.get(ValueLayout.JAVA_LONG, 16));
            assertEquals(0x7f12_3456_7000L, m.get(ValueLayout.JAVA_LONG, 24));
            assertEquals(3, m.get(ValueLayout.JAVA_BYTE, 32), "perm RW");
            assertEquals(2, m.get(ValueLayout.JAVA_BYTE, 33), "type UPDATE");
            for (long i = 34; i < 72; i++) {
                assertEquals(0, m.get(ValueLayout.JAVA_BYTE, i), "byte " + i);
            }
        }
    }

    private static String arr(long[] v) {
        return java.util.Arrays.toString(v);
    }

    private static String run(String... cmd) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            throw new AssertionError(cmd[0] + " cannot run (scripts/setup installs clang and linux-libc-dev): " + e);
        }
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), cmd[0] + " hung");
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
        return out;
    }
}
