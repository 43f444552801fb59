package dev.panda.pmd.virtio.vhostuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panda.jextract.Fd;
import dev.panda.jextract.NativeException;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.ring.GuestMemory;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemTable;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.MemoryRegion;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MemoryTableTest {

    private static final long MIB = 1 << 20;
    private static final long GPA0 = 0;
    private static final long GPA1 = 0x1_0000_0000L;
    private static final long UVA0 = 0x7f00_0000_0000L;
    private static final long UVA1 = 0x7f10_0000_0000L;
    private static final int FLAGS = VhostUserMessage.requestFlags(false);

    private long fdsBefore;

    @BeforeEach
    void countFds() {
        fdsBefore = Leaks.openFds();
    }

    @AfterEach
    void noLeaks() {
        assertEquals(fdsBefore, Leaks.openFds(), "descriptors leaked");
        assertEquals(0, Leaks.mappingsOf("mt-"), "mappings leaked");
    }

    /** Two regions in two memfds: 1 MiB at GPA 0 and 2 MiB at GPA 4 GiB, the second 64 KiB into its file. */
    private static MemoryTable twoRegions() throws VhostUserException {
        Fd a = Leaks.memfd("mt-a", MIB);
        Fd b = Leaks.memfd("mt-b", 2 * MIB + 64 * 1024);
        return MemoryTable.map(new MemTable(
                FLAGS,
                List.of(new MemoryRegion(GPA0, MIB, UVA0, 0), new MemoryRegion(GPA1, 2 * MIB, UVA1, 64 * 1024)),
                List.of(a, b)));
    }

    @Test
    void guestAddressesTranslateAtTheEdges() throws Exception {
        try (MemoryTable t = twoRegions()) {
            assertSame(t, t.guestPhysical());
            assertEquals(0, t.find(GPA0, MIB), "the whole first region");
            assertEquals(0, t.find(GPA0, 0), "len 0 at the start");
            assertEquals(0, t.find(GPA0 + MIB - 1, 1), "last byte");
            assertEquals(-1, t.find(GPA0 + MIB - 1, 2), "one byte past the end");
            assertEquals(-1, t.find(GPA0, MIB + 1));
            assertEquals(-1, t.find(GPA0 + MIB, 0), "first byte after the region");
            assertEquals(-1, t.find(GPA0 + MIB, 1), "the gap between the regions");
            assertEquals(-1, t.find(GPA1 - 1, 2), "straddles into the second region");
            assertEquals(1, t.find(GPA1, 2 * MIB));
            assertEquals(1, t.find(GPA1 + 2 * MIB - 8, 8));
            assertEquals(-1, t.find(GPA1 + 2 * MIB - 8, 9));
            assertEquals(-1, t.find(UVA0, 1), "a user address is no guest address");
            assertEquals(MIB, t.segment(0).byteSize());
            assertEquals(2 * MIB, t.segment(1).byteSize());
            assertEquals(0x123, t.offset(1, GPA1 + 0x123));
            assertEquals(2, t.regionCount());
            assertEquals(UVA1, t.region(1).userspaceAddr());
        }
    }

    @Test
    void overflowingRangesAreNotFound() throws Exception {
        try (MemoryTable t = twoRegions()) {
            assertEquals(-1, t.find(-16, 32), "addr + len wraps");
            assertEquals(-1, t.find(GPA0 + 16, -1L), "len of 2^64 - 1");
            assertEquals(-1, t.find(GPA0 + 16, Long.MIN_VALUE));
            assertEquals(-1, t.find(GPA1 + 8, -8L), "wraps back to the region's start");
            assertEquals(-1, t.find(-1L, 0));
            assertEquals(-1, t.userAddresses().find(UVA1 + MIB, Long.MAX_VALUE));
        }
    }

    @Test
    void userAddressesSeeTheSameMemory() throws Exception {
        try (MemoryTable t = twoRegions()) {
            GuestMemory user = t.userAddresses();
            assertEquals(0, user.find(UVA0, MIB));
            assertEquals(1, user.find(UVA1 + 100, 100));
            assertEquals(-1, user.find(GPA1, 1));
            assertEquals(-1, user.find(UVA0 + MIB, 1));
            int r = user.find(UVA1 + 0x40, 8);
            user.segment(r).set(ValueLayout.JAVA_LONG, user.offset(r, UVA1 + 0x40), 0x5eed);
            int g = t.find(GPA1 + 0x40, 8);
            assertEquals(0x5eed, t.segment(g).get(ValueLayout.JAVA_LONG, t.offset(g, GPA1 + 0x40)));
        }
    }

    @Test
    void segmentsAreTheFileAtTheMmapOffset() throws Exception {
        // 2 pages + 100 bytes in: mmap needs a page-aligned offset, so the table maps from
        // 2 pages and starts the region 100 bytes into that mapping
        long offset = 2 * 4096 + 100;
        try (Fd fd = Leaks.memfd("mt-probe", 64 * 1024)) {
            MemorySegment whole = Leaks.map(fd, 64 * 1024, 0);
            try {
                whole.set(ValueLayout.JAVA_LONG_UNALIGNED, offset, 0x0123_4567_89ab_cdefL);
                whole.set(ValueLayout.JAVA_BYTE, offset + 4096 - 1, (byte) 0x7e);
                Fd shared = dupOf(fd);
                try (MemoryTable t = MemoryTable.map(
                        new MemTable(FLAGS, List.of(new MemoryRegion(0x10000, 4096, UVA0, offset)), List.of(shared)))) {
                    MemorySegment s = t.segment(t.find(0x10000, 4096));
                    assertEquals(4096, s.byteSize());
                    assertEquals(0x0123_4567_89ab_cdefL, s.get(ValueLayout.JAVA_LONG_UNALIGNED, 0));
                    assertEquals((byte) 0x7e, s.get(ValueLayout.JAVA_BYTE, 4095));
                    s.set(ValueLayout.JAVA_INT_UNALIGNED, 8, 42);
                    assertEquals(42, whole.get(ValueLayout.JAVA_INT_UNALIGNED, offset + 8), "MAP_SHARED");
                    assertThrows(
                            IndexOutOfBoundsException.class,
                            () -> s.get(ValueLayout.JAVA_BYTE, 4096),
                            "bounds-checked at the region's end");
                }
            } finally {
                Posix.munmap(whole);
            }
        }
    }

    @Test
    void closeUnmapsClosesFdsAndInvalidatesSegments() throws Exception {
        MemoryTable t = twoRegions();
        assertEquals(2, Leaks.mappingsOf("mt-a") + Leaks.mappingsOf("mt-b"));
        MemorySegment s = t.segment(0);
        s.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
        t.close();
        assertThrows(IllegalStateException.class, () -> s.get(ValueLayout.JAVA_BYTE, 0), "no access after close");
        t.close();
        assertTrue(t.toString().endsWith("closed]"), t.toString());
    }

    @Test
    void overlappingRegionsAreRefused() {
        refuses(
                List.of(new MemoryRegion(0, 2 * 4096, UVA0, 0), new MemoryRegion(4096, 4096, UVA1, 0)),
                "guest address ranges overlap");
        refuses(
                List.of(new MemoryRegion(0, 4096, UVA0, 0), new MemoryRegion(4096, 4096, UVA0 + 4095, 0)),
                "user address ranges overlap");
        refuses(
                List.of(new MemoryRegion(0, 4096, UVA0, 0), new MemoryRegion(0, 4096, UVA1, 0)),
                "guest address ranges overlap");
    }

    @Test
    void regionsBeyondTheirFileAreRefused() {
        refuses(List.of(new MemoryRegion(0, 64 * 1024 + 1, UVA0, 0)), "ends at file offset 65537 but fd");
        refuses(List.of(new MemoryRegion(0, 4096, UVA0, 61 * 1024)), "ends at file offset 66560");
    }

    @Test
    void nonFilesAreRefused() {
        Fd efd = Posix.eventfd(0, Posix.EFD_CLOEXEC);
        VhostUserException e = assertThrows(
                VhostUserException.class,
                () -> MemoryTable.map(new MemTable(FLAGS, List.of(new MemoryRegion(0, 4096, UVA0, 0)), List.of(efd))));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
        assertFalse(efd.isOpen(), "the table took the fd and closed it");
    }

    @Test
    void laterFailuresUndoEarlierMappings() {
        Fd good = Leaks.memfd("mt-good", 4096);
        Fd small = Leaks.memfd("mt-small", 4096);
        assertThrows(
                VhostUserException.class,
                () -> MemoryTable.map(new MemTable(
                        FLAGS,
                        List.of(new MemoryRegion(0, 4096, UVA0, 0), new MemoryRegion(4096, 8192, UVA1, 0)),
                        List.of(good, small))));
        assertFalse(good.isOpen());
        assertFalse(small.isOpen());
    }

    @Test
    void hugetlbRegionsMapAtHugePageAlignedOffsets() throws Exception {
        Fd fd = null;
        try {
            fd = Posix.memfdCreate("mt-huge", Posix.MFD_CLOEXEC | Posix.MFD_HUGETLB);
            Posix.ftruncate(fd, 4 * MIB);
        } catch (NativeException e) {
            if (fd != null) {
                fd.close();
            }
            assumeTrue(false, "no hugetlb memfd here: " + e.getMessage());
        }
        // offset 2 MiB + 4 KiB: page-aligned but not huge-page-aligned, so the first mmap is
        // EINVAL and the table maps from 2 MiB; the length is not a huge page multiple either
        try (MemoryTable t = MemoryTable.map(
                new MemTable(FLAGS, List.of(new MemoryRegion(0, MIB, UVA0, 2 * MIB + 4096)), List.of(fd)))) {
            MemorySegment s = t.segment(0);
            s.set(ValueLayout.JAVA_LONG, MIB - 8, 99);
            assertEquals(99, s.get(ValueLayout.JAVA_LONG, MIB - 8));
        } catch (VhostUserException e) {
            assumeTrue(false, "no huge pages free: " + e.getMessage());
        }
    }

    private static void refuses(List<MemoryRegion> regions, String reason) {
        List<Fd> fds =
                regions.stream().map(r -> Leaks.memfd("mt-bad", 64 * 1024)).toList();
        VhostUserException e =
                assertThrows(VhostUserException.class, () -> MemoryTable.map(new MemTable(FLAGS, regions, fds)));
        assertTrue(e.getMessage().contains(reason), () -> "\"" + e.getMessage() + "\" lacks \"" + reason + "\"");
        fds.forEach(fd -> assertFalse(fd.isOpen(), "fd left open"));
    }

    /** A second descriptor for the file behind {@code fd}, made the way a peer's arrive: over a socket. */
    private static Fd dupOf(Fd fd) {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0];
                UnixSocket b = pair[1]) {
            a.send(MemorySegment.ofArray(new byte[1]), List.of(fd));
            return b.recv(MemorySegment.ofArray(new byte[1]), 1).fds().getFirst();
        }
    }
}
