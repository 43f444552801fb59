package dev.panda.pmd.virtio.vhostuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The CMSG_* arithmetic against glibc's values on x86_64 (a 16-byte cmsghdr, 8-byte size_t). */
class CmsgTest {

    @Test
    void headerAndAlignmentMatchX86_64() {
        assertEquals(8, Cmsg.ALIGNMENT, "sizeof(size_t)");
        assertEquals(16, Cmsg.HEADER, "CMSG_ALIGN(sizeof(struct cmsghdr))");
        assertEquals(16, Cmsg.DATA_OFFSET, "CMSG_DATA(c) - c");
    }

    @Test
    void alignRoundsUpToSizeT() {
        assertEquals(0, Cmsg.align(0));
        assertEquals(8, Cmsg.align(1));
        assertEquals(8, Cmsg.align(8));
        assertEquals(16, Cmsg.align(9));
        assertEquals(32, Cmsg.align(28));
    }

    @Test
    void lenIsHeaderPlusData() {
        for (int n = 0; n <= 8; n++) {
            assertEquals(16 + 4 * n, Cmsg.len(4L * n), "CMSG_LEN(4*" + n + ")");
        }
    }

    @Test
    void spaceIsAlignedDataPlusHeader() {
        assertEquals(16, Cmsg.space(0));
        assertEquals(24, Cmsg.space(4), "CMSG_SPACE(sizeof(int))");
        assertEquals(24, Cmsg.space(8));
        assertEquals(32, Cmsg.space(12), "three fds");
        assertEquals(48, Cmsg.space(32), "eight fds");
    }

    @Test
    void negativeLengthsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Cmsg.align(-1));
        assertThrows(IllegalArgumentException.class, () -> Cmsg.len(-1));
        assertThrows(IllegalArgumentException.class, () -> Cmsg.space(-8));
    }
}
