package dev.panda.jextract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panda.jextract.libc.Libc;
import dev.panda.jextract.uapi.Uapi;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class PosixTest {

    private static final int EBADF = 9;

    @Test
    void memfdMappedTwiceSharesBytes() {
        long size = 1 << 20;
        try (Fd fd = Posix.memfdCreate("panda-test", Posix.MFD_CLOEXEC)) {
            Posix.ftruncate(fd, size);
            int prot = Posix.PROT_READ | Posix.PROT_WRITE;
            MemorySegment a = Posix.mmap(size, prot, Posix.MAP_SHARED, fd, 0);
            MemorySegment b = Posix.mmap(size, prot, Posix.MAP_SHARED | Posix.MAP_POPULATE, fd, 0);
            try {
                assertEquals(size, a.byteSize());
                assertEquals(size, b.byteSize());
                assertNotEquals(a.address(), b.address());
                a.set(ValueLayout.JAVA_LONG, 4096, 0x1122334455667788L);
                b.set(ValueLayout.JAVA_INT, size - 4, 42);
                assertEquals(0x1122334455667788L, b.get(ValueLayout.JAVA_LONG, 4096));
                assertEquals(42, a.get(ValueLayout.JAVA_INT, size - 4));
            } finally {
                Posix.munmap(a);
                Posix.munmap(b);
            }
        }
    }

    @Test
    void anonymousMapping() {
        MemorySegment m =
                Posix.mmap(8192, Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_PRIVATE | Posix.MAP_ANONYMOUS, null, 0);
        try {
            assertEquals(0, m.get(ValueLayout.JAVA_LONG, 8184));
            m.set(ValueLayout.JAVA_LONG, 8184, -1L);
            assertEquals(-1L, m.get(ValueLayout.JAVA_LONG, 8184));
        } finally {
            Posix.munmap(m);
        }
    }

    @Test
    void errnoOfAFailedCallIsReported() {
        // a descriptor number far beyond any open file: the kernel says EBADF
        NativeException e = assertThrows(NativeException.class, () -> Posix.ftruncate(new Fd(1 << 20), 4096));
        assertEquals(EBADF, e.errno());
        assertTrue(e.getMessage().contains("EBADF (Bad file descriptor)"), e.getMessage());
        assertTrue(e.call().startsWith("ftruncate"), e.call());

        // zero-length mmap is EINVAL
        NativeException inval = assertThrows(
                NativeException.class,
                () -> Posix.mmap(0, Posix.PROT_READ, Posix.MAP_PRIVATE | Posix.MAP_ANONYMOUS, null, 0));
        assertEquals("EINVAL", Posix.errnoName(inval.errno()));
    }

    @Test
    void closedFdIsNeverPassedToTheKernel() {
        Fd fd = Posix.memfdCreate("panda-closed", Posix.MFD_CLOEXEC);
        fd.close();
        NativeException e = assertThrows(NativeException.class, () -> Posix.ftruncate(fd, 4096));
        assertEquals(EBADF, e.errno());
        assertTrue(e.getMessage().contains("EBADF"), e.getMessage());
    }

    @Test
    void fdCloseIsIdempotent() {
        Fd fd = Posix.eventfd(0, Posix.EFD_CLOEXEC);
        assertTrue(fd.isOpen());
        assertTrue(fd.toString().contains(Integer.toString(fd.value())));
        fd.close();
        assertFalse(fd.isOpen());
        fd.close();
        fd.close();
        assertTrue(fd.toString().contains("closed"), fd.toString());
        assertThrows(IllegalArgumentException.class, () -> new Fd(-1));
    }

    @Test
    void closingANumberThatIsNotOpenReportsEbadf() {
        Fd stale = new Fd(1 << 20);
        NativeException e = assertThrows(NativeException.class, stale::close);
        assertEquals(EBADF, e.errno());
        assertFalse(stale.isOpen());
        stale.close(); // second close is a no-op
    }

    @Test
    void eventfdCountsAndDrains() {
        try (Fd fd = Posix.eventfd(3, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC)) {
            Posix.eventfdWrite(fd, 5);
            Posix.eventfdWrite(fd, 1);
            assertEquals(9, Posix.eventfdRead(fd));
            assertEquals(0, Posix.eventfdRead(fd), "non-blocking read of an empty counter");
            Posix.eventfdWrite(fd, 7);
            assertEquals(7, Posix.eventfdRead(fd));
        }
    }

    @Test
    void affinityRoundTripOnAFreshThread() throws Exception {
        int[] allowed = Posix.getAffinity();
        assertTrue(allowed.length >= 1);
        int[] sorted = allowed.clone();
        Arrays.sort(sorted);
        assertArrayEquals(sorted, allowed);
        int target = allowed[allowed.length - 1];

        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                Posix.setAffinity(target);
                int[] now = Posix.getAffinity();
                int cpu = Posix.currentCpu();
                result.set(new int[] {now.length, now[0], cpu});
            } catch (Throwable e) {
                result.set(e);
            }
        });
        t.start();
        t.join();
        if (result.get() instanceof Throwable e) {
            throw new AssertionError(e);
        }
        assertArrayEquals(new int[] {1, target, target}, (int[]) result.get());
        // the test thread itself was not pinned
        assertArrayEquals(allowed, Posix.getAffinity());
    }

    @Test
    void affinityToAMissingCpuFails() throws Exception {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                Posix.setAffinity(8000);
            } catch (Throwable e) {
                thrown.set(e);
            }
        });
        t.start();
        t.join();
        NativeException e = assertInstanceOf(NativeException.class, thrown.get());
        assertEquals("EINVAL", Posix.errnoName(e.errno()));
        assertThrows(IllegalArgumentException.class, () -> Posix.setAffinity(-1));
        assertThrows(IllegalArgumentException.class, () -> Posix.setAffinity());
    }

    @Test
    void ioctlWithPointerAndIntegerArguments() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pair = arena.allocate(ValueLayout.JAVA_INT, 2);
            assertEquals(0, Libc.socketpair(Libc.AF_UNIX(), Libc.SOCK_STREAM() | Libc.SOCK_CLOEXEC(), 0, pair));
            try (Fd left = new Fd(pair.getAtIndex(ValueLayout.JAVA_INT, 0));
                    Fd right = new Fd(pair.getAtIndex(ValueLayout.JAVA_INT, 1))) {
                MemorySegment bytes = arena.allocateFrom("abc");
                assertEquals(3, Libc.write(left.value(), bytes, 3));
                MemorySegment count = arena.allocate(ValueLayout.JAVA_INT);
                assertEquals(0, Posix.ioctl(right, Libc.FIONREAD(), count));
                assertEquals(3, count.get(ValueLayout.JAVA_INT, 0));

                // a request the socket does not know: ENOTTY, with the request in the message
                NativeException e =
                        assertThrows(NativeException.class, () -> Posix.ioctl(right, Uapi.VHOST_SET_OWNER(), 0L));
                assertEquals("ENOTTY", Posix.errnoName(e.errno()));
                assertTrue(e.getMessage().contains("0xaf01"), e.getMessage());
            }
        }
    }

    /** The calls a poller makes allocate nothing once warm (best of several rounds, so JIT timing does not matter). */
    @Test
    void pollerCallsDoNotAllocateOnceWarm() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long best = Long.MAX_VALUE;
        try (Fd fd = Posix.eventfd(0, Posix.EFD_NONBLOCK | Posix.EFD_CLOEXEC)) {
            // until one clean round: on a loaded machine C2 may take many rounds to compile the calls
            for (int round = 0; round < 100 && best >= 1024; round++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                long sum = 0;
                for (int i = 0; i < 20_000; i++) {
                    sum += Posix.currentCpu();
                    Posix.eventfdWrite(fd, 1);
                    sum += Posix.eventfdRead(fd) + Posix.eventfdRead(fd);
                }
                best = Math.min(best, threads.getCurrentThreadAllocatedBytes() - before);
                assertTrue(sum >= 20_000);
            }
        }
        assertTrue(best < 1024, "best round allocated " + best + " bytes for 80000 calls");
    }

    @Test
    void cpuAndThreadQueries() {
        int online = Posix.onlineCpus();
        assertTrue(online >= 1);
        int cpu = Posix.currentCpu();
        assertTrue(cpu >= 0 && cpu < 8192, "cpu " + cpu);
        int tid = Posix.gettid();
        assertTrue(tid > 0);
        assertEquals(tid, Posix.gettid());
    }

    @Test
    void errnoNamesAndTexts() {
        assertEquals("ENOMEM", Posix.errnoName(12));
        assertEquals("EAGAIN", Posix.errnoName(11));
        assertEquals("errno 4000", Posix.errnoName(4000));
        assertEquals("Cannot allocate memory", Posix.strerror(12));
        NativeException e = new NativeException("memfd_create(panda-pool)", 12);
        assertEquals("memfd_create(panda-pool) failed: ENOMEM (Cannot allocate memory)", e.getMessage());
    }
}
