package dev.panda.pmd.virtio.vhost;

import dev.panda.jextract.Fd;
import dev.panda.jextract.Posix;
import dev.panda.pmd.virtio.vhostuser.MemoryTable;
import dev.panda.pmd.virtio.vhostuser.VhostUserException;
import dev.panda.pmd.virtio.vhostuser.VhostUserMessage.LogBase;
import java.lang.foreign.MemorySegment;

/**
 * The front-end's dirty log as SET_LOG_BASE (VHOST_USER_PROTOCOL_F_LOG_SHMFD: a shared memory fd,
 * a size and an offset) and SET_LOG_FD gave it (vhost-user.rst, "Migration"). Control thread
 * only; the pollers see the log through the {@link DirtyLog.Bitmap} of each published vring, so
 * the control thread takes every vring back before it replaces or unmaps the log.
 */
final class LogArea {

    /** The largest log accepted: one bit per 4 KiB page covers 2^45 bytes of guest memory. */
    static final long MAX_BYTES = 1L << 30;

    private MemorySegment mapping;
    private Fd eventFd;

    /**
     * Maps the log {@code m} describes, after checking its size (whole 64-bit words, up to
     * {@link #MAX_BYTES}), its page-aligned offset and that its file is that long (a shorter file
     * would fault). The message's fd is closed either way: the mapping keeps the memory.
     */
    static MemorySegment map(LogBase m) throws VhostUserException {
        Fd fd = m.fd();
        try {
            if (m.size() <= 0 || m.size() > MAX_BYTES || m.size() % Long.BYTES != 0) {
                throw new VhostUserException("log size " + m.size() + " is not a multiple of 8 in 8.." + MAX_BYTES);
            }
            if (m.offset() < 0 || m.offset() % 4096 != 0 || m.offset() > Long.MAX_VALUE - m.size()) {
                throw new VhostUserException("log offset " + m.offset() + " is not page aligned");
            }
            MemoryTable.checkFile("log", fd, m.offset() + m.size());
            return Posix.mmap(m.size(), Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_SHARED, fd, m.offset());
        } catch (RuntimeException e) {
            throw new VhostUserException("log: " + e.getMessage(), e);
        } finally {
            Vring.close(fd);
        }
    }

    /** The mapped log, or null before SET_LOG_BASE. */
    MemorySegment segment() {
        return mapping;
    }

    /** Uses {@code next} from now on; the previous log is unmapped unless a poller may still use it. */
    void replace(MemorySegment next, boolean stuck) {
        release(stuck);
        mapping = next;
    }

    /** SET_LOG_FD: kept (panda's log needs no signal to be read) and closed with the connection. */
    void setEventFd(Fd fd) {
        Vring.close(eventFd);
        eventFd = fd;
    }

    /** The connection ended: the log unmapped (unless a poller is stuck in it), the eventfd closed. */
    void release(boolean stuck) {
        if (mapping != null && !stuck) {
            Posix.munmap(mapping);
        }
        mapping = null;
        eventFd = Vring.close(eventFd);
    }
}
