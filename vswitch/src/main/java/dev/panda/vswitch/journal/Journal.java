package dev.panda.vswitch.journal;

import dev.panda.vswitch.config.VswitchConfig;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.bytes.MappedBytes;
import net.openhft.chronicle.bytes.SyncMode;
import net.openhft.chronicle.core.io.SingleThreadedChecked;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * The control journal: {@code DIR/journal/gen-NNNNNNNN/}, each generation a Chronicle Queue whose
 * first entry is a snapshot of the whole state and whose other entries are the changes after it.
 *
 * <p>{@link #open} reads the newest generation that starts with a whole snapshot and replays its
 * entries up to the first one that is torn, corrupt (CRC, sequence gap, a payload that does not fit)
 * or missing; {@link #begin} then writes a new generation holding a snapshot of the running state,
 * and only after that is on disk removes the older generations (a corrupt one is moved aside, not
 * removed). {@link #append} writes one change and msyncs it before returning; after
 * {@code compactAfter} changes in a generation the next {@link #append} starts a new one the same
 * way (compaction).
 */
public final class Journal implements AutoCloseable {

    static {
        Chronicle.quiet();
    }

    /** Changes after which a generation is compacted into a new snapshot. */
    public static final int DEFAULT_COMPACT_AFTER = 1000;

    private static final String GEN = "gen-";
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'");

    /** What {@link #open} found. */
    public record Recovery(
            JournalState journalState, long lastSeq, int changes, List<String> problems, Path corruptGeneration) {

        /** True when the journal held no state (no generation, or none with a snapshot). */
        public boolean empty() {
            return journalState == null;
        }

        /** The config part of the state (null when empty). */
        public VswitchConfig state() {
            return journalState == null ? null : journalState.config();
        }
    }

    private final Path dir;
    private final ChangeKinds kinds;
    private final int compactAfter;
    private final FileChannel lockFile;
    private final FileLock lock;
    private final Recovery recovery;
    private SingleChronicleQueue queue;
    private ExcerptAppender appender;
    private int generation;
    /** The generation {@link #open} recovered from (0: none). */
    private int source;

    private long nextSeq;
    private int changesInGeneration;
    /** Bytes of the changes appended since the generation's snapshot, and that snapshot's size. */
    private long bytesInGeneration;

    private long snapshotBytes;

    /**
     * A snapshot this big or bigger is written again only once the changes after it add up to its
     * size too (besides {@code compactAfter} of them), so filling a big flow table compacts a
     * number of times that grows with the log of its size, not with it; a smaller state is
     * compacted every {@code compactAfter} changes as always.
     */
    static final long BIG_SNAPSHOT_BYTES = 1 << 20;

    private IOException failedWith;
    /** Tests only: the next appends fail with this. */
    private volatile IOException injected;

    private int injectAfter;

    private Journal(Path dir, ChangeKinds kinds, int compactAfter, FileChannel lockFile, FileLock lock) {
        this.dir = dir;
        this.kinds = kinds;
        this.compactAfter = compactAfter;
        this.lockFile = lockFile;
        this.lock = lock;
        this.recovery = recover();
        this.nextSeq = recovery.lastSeq() + 1;
    }

    /**
     * Locks {@code dir} (one vswitch per journal) and reads it; writes nothing until {@link #begin}.
     *
     * @throws IOException the directory cannot be made or locked (another vswitch holds it)
     */
    public static Journal open(Path dir, ChangeKinds kinds, int compactAfter) throws IOException {
        Files.createDirectories(dir);
        FileChannel ch = FileChannel.open(
                dir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
        FileLock l;
        try {
            l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null;
        }
        if (l == null) {
            ch.close();
            throw new IOException(dir + " is in use by another panda vswitch (its lock file is held)");
        }
        try {
            return new Journal(dir, kinds, compactAfter, ch, l);
        } catch (RuntimeException e) {
            l.release();
            ch.close();
            throw e;
        }
    }

    public Path dir() {
        return dir;
    }

    public Recovery recovery() {
        return recovery;
    }

    /**
     * Moves {@code dir} aside to {@code dir.old-TIMESTAMP} (for {@code --fresh}).
     *
     * @return where it went, or null if there was nothing to move
     */
    public static Path setAside(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return null;
        }
        try (Stream<Path> s = Files.list(dir)) {
            if (s.noneMatch(p -> p.getFileName().toString().startsWith(GEN))) {
                return null;
            }
        }
        Path lockPath = dir.resolve("lock");
        if (Files.exists(lockPath)) {
            try (FileChannel ch = FileChannel.open(lockPath, StandardOpenOption.WRITE)) {
                FileLock l;
                try {
                    l = ch.tryLock();
                } catch (OverlappingFileLockException e) {
                    l = null;
                }
                if (l == null) {
                    throw new IOException(dir + " is in use by another panda vswitch (its lock file is held)");
                }
                l.release();
            }
        }
        Path to = dir.resolveSibling(dir.getFileName() + ".old-" + stamp());
        Files.move(dir, to);
        syncDir(to.getParent());
        return to;
    }

    // ---- recovery -----------------------------------------------------------------------

    private Recovery recover() {
        List<Integer> gens = generations();
        List<String> problems = new ArrayList<>();
        for (int i = gens.size() - 1; i >= 0; i--) {
            int g = gens.get(i);
            Recovery r = read(g, problems);
            if (r != null) {
                generation = g;
                source = g;
                return r;
            }
        }
        generation = gens.isEmpty() ? 0 : gens.getLast();
        return new Recovery(null, 0, 0, problems, null);
    }

    /** The state in generation {@code g}, or null (and a problem) if it does not start with a snapshot. */
    private Recovery read(int g, List<String> problems) {
        Path gd = genDir(g);
        try (SingleChronicleQueue q = build(gd, true)) {
            ExcerptTailer t = q.createTailer();
            JournalState state = null;
            long seq = 0;
            long lastIndex = -1;
            int changes = 0;
            String bad = null;
            File lastFile = null;
            long lastEnd = 0;
            while (true) {
                byte[] bytes;
                long index;
                // metadata too: a flipped flag can make an entry look like the queue's own metadata,
                // which a data-only tailer would skip without a word
                try (DocumentContext dc = t.readingDocument(true)) {
                    if (!dc.isPresent()) {
                        break;
                    }
                    index = dc.index();
                    Bytes<?> b = dc.wire().bytes();
                    if (b instanceof MappedBytes mb) {
                        if (b.readLimit() > mb.mappedFile().file().length()) {
                            // reading past the end of a mapped file would fault (SIGBUS)
                            bad = "truncated: the excerpt ends at byte " + b.readLimit() + ", the file at "
                                    + mb.mappedFile().file().length();
                            break;
                        }
                        lastFile = mb.mappedFile().file();
                        lastEnd = b.readLimit();
                    }
                    if (dc.isMetaData()) {
                        if (b.readRemaining() >= 4 && startsWithMagic(b)) {
                            bad = "the excerpt after #" + seq + " is an entry marked as the queue's metadata";
                            break;
                        }
                        continue;
                    }
                    bytes = b.toByteArray();
                } catch (RuntimeException | InternalError | AssertionError e) {
                    // InternalError: a fault in the mapped file; AssertionError: Chronicle's own
                    // checks (on with -ea) meeting a torn tail
                    bad = "unreadable excerpt (" + e.getClass().getSimpleName() + ": " + oneLine(e.getMessage()) + ")";
                    break;
                }
                JournalEntry e;
                try {
                    e = JournalEntry.decode(bytes);
                } catch (JournalFormatException x) {
                    bad = x.reason().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ') + ": "
                            + x.getMessage();
                    break;
                }
                if (state == null) {
                    if (e.type() != JournalEntry.Type.SNAPSHOT) {
                        bad = "the first entry is " + e + ", not a snapshot";
                        break;
                    }
                } else if (e.seq() != seq + 1) {
                    bad = "entry #" + e.seq() + " follows #" + seq + " (a gap)";
                    break;
                }
                try {
                    if (e.type() == JournalEntry.Type.SNAPSHOT) {
                        state = JournalState.fromSnapshot(e.payload());
                    } else {
                        state = kinds.replay(state, e.kind(), e.payload());
                        changes++;
                    }
                } catch (RuntimeException x) {
                    bad = "entry " + e + " does not replay: " + oneLine(x.getMessage());
                    break;
                }
                seq = e.seq();
                lastIndex = index;
            }
            if (bad == null && state != null && lastFile != null) {
                long next = (lastEnd + 3) & ~3L; // headers sit on 4-byte boundaries
                try {
                    int header = headerAt(lastFile, next);
                    if (header != 0 && header != END_OF_DATA) {
                        bad = String.format(
                                "an unfinished excerpt after #%d (queue header 0x%08x at byte %d)", seq, header, next);
                    }
                } catch (IOException e) {
                    bad = "the bytes after #" + seq + " cannot be read (" + oneLine(e.getMessage()) + ")";
                }
            }
            if (bad == null && state != null) {
                long end;
                try {
                    end = q.lastIndex();
                } catch (RuntimeException | InternalError | AssertionError e) {
                    end = Long.MAX_VALUE;
                }
                if (end > lastIndex) {
                    bad = "excerpts after #" + seq + " are unfinished or unreadable";
                }
            }
            if (state == null) {
                problems.add(gd.getFileName() + ": no snapshot to start from"
                        + (bad == null ? " (empty: a compaction that did not finish)" : ": " + bad));
                return null;
            }
            if (bad != null) {
                problems.add("torn or corrupt tail after entry #" + seq + " (" + bad + "); starting from #" + seq
                        + ", the last complete entry");
                return new Recovery(state, seq, changes, problems, gd);
            }
            return new Recovery(state, seq, changes, problems, null);
        } catch (RuntimeException | InternalError | AssertionError e) {
            problems.add(gd.getFileName() + ": cannot be read (" + e.getClass().getSimpleName() + ": "
                    + oneLine(e.getMessage()) + ")");
            return null;
        }
    }

    /** Chronicle's header of an end-of-file marker (not complete, metadata, no length). */
    private static final int END_OF_DATA = 0xC0000000;

    private static boolean startsWithMagic(Bytes<?> b) {
        long p = b.readPosition();
        int v = 0;
        for (int i = 3; i >= 0; i--) {
            v = v << 8 | b.readUnsignedByte(p + i);
        }
        return v == JournalEntry.MAGIC;
    }

    /**
     * The 4-byte queue header (little-endian) at byte {@code at} of {@code file}, where the excerpt
     * after the last one read would start: 0 when nothing was written there, Chronicle's
     * end-of-file marker after a roll, anything else an excerpt the tailer did not return (one
     * whose writer never finished it, or whose header a flipped bit marks so).
     */
    private static int headerAt(File file, long at) throws IOException {
        try (FileChannel ch = FileChannel.open(file.toPath(), StandardOpenOption.READ)) {
            ByteBuffer h = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            while (h.hasRemaining()) {
                if (ch.read(h, at + h.position()) < 0) {
                    return 0;
                }
            }
            return h.getInt(0);
        }
    }

    // ---- writing ------------------------------------------------------------------------

    /**
     * Starts a new generation with a snapshot of {@code running} (synced), then drops the older
     * generations (a corrupt one found by {@link #open} is moved aside to
     * {@code DIR.corrupt-TIMESTAMP}).
     *
     * @return where a corrupt generation went, or null
     */
    public synchronized Path begin(VswitchConfig running) throws IOException {
        return begin(JournalState.of(running));
    }

    /** As {@link #begin(VswitchConfig)}, with flows and captures. */
    public synchronized Path begin(JournalState running) throws IOException {
        SingleChronicleQueue oldQueue = queue;
        int g = Math.max(
                        generation,
                        generations().stream().mapToInt(Integer::intValue).max().orElse(0))
                + 1;
        Path gd = genDir(g);
        SingleChronicleQueue q;
        ExcerptAppender a;
        try {
            Files.createDirectories(gd);
            q = build(gd, false);
            a = q.createAppender();
            if (a instanceof SingleThreadedChecked c) {
                c.singleThreadedCheckDisabled(true); // created here, used by the control thread; calls are synchronized
            }
            byte[] snapshot = running.toBytes();
            write(a, new JournalEntry(nextSeq, JournalEntry.Type.SNAPSHOT, JournalEntry.SNAPSHOT_KIND, snapshot));
            snapshotBytes = snapshot.length;
            syncDir(gd);
            syncDir(dir);
        } catch (RuntimeException e) {
            throw new IOException("cannot write a snapshot to " + gd + ": " + oneLine(e.getMessage()), e);
        }
        nextSeq++;
        queue = q;
        appender = a;
        generation = g;
        changesInGeneration = 0;
        bytesInGeneration = 0;
        if (oldQueue != null) {
            oldQueue.close();
        }
        Path corrupt = null;
        for (int x : generations()) {
            if (x >= g) {
                continue;
            }
            Path xd = genDir(x);
            boolean bad = x > source || xd.equals(recovery.corruptGeneration());
            if (bad) {
                // what recovery could not read is kept for a post-mortem, out of the journal's way
                corrupt = dir.resolveSibling(dir.getFileName() + ".corrupt-" + stamp() + "-" + xd.getFileName());
                Files.move(xd, corrupt);
            } else {
                deleteTree(xd);
            }
        }
        syncDir(dir);
        syncDir(dir.getParent());
        source = g;
        return corrupt;
    }

    /**
     * Appends one change and msyncs it; returns only once it is on disk. After
     * {@code compactAfter} changes the generation is compacted into a snapshot of {@code after}.
     *
     * @throws IOException the change is not in the journal (and a failure once means every later
     *     append fails too: the file's tail is then unknown)
     */
    public synchronized void append(String kind, byte[] payload, VswitchConfig after) throws IOException {
        append(kind, payload, () -> JournalState.of(after));
    }

    /**
     * As {@link #append(String, byte[], VswitchConfig)}; {@code after} (the whole state after the
     * change) is asked for only when the generation is compacted.
     */
    public synchronized void append(String kind, byte[] payload, java.util.function.Supplier<JournalState> after)
            throws IOException {
        if (!kinds.names().contains(kind)) {
            throw new IllegalArgumentException("unregistered change kind " + kind);
        }
        IOException closed = notWritable();
        if (closed != null) {
            throw closed;
        }
        IOException fault = injected();
        if (fault != null) {
            throw fault;
        }
        try {
            write(appender, new JournalEntry(nextSeq, JournalEntry.Type.CHANGE, kind, payload));
        } catch (RuntimeException e) {
            failedWith = new IOException("append to " + genDir(generation) + ": " + oneLine(e.getMessage()), e);
            throw failedWith;
        }
        nextSeq++;
        bytesInGeneration += payload.length;
        changesInGeneration++;
        compactIfDue(after);
    }

    /**
     * Appends {@code payloads} as consecutive changes of {@code kind} (one entry each, as {@link
     * #append} would write them) and msyncs them once, after the last; returns only once they are
     * all on disk. A generation is compacted at most once, after the last, into {@code after} (the
     * state after them all), so a snapshot never holds changes that entries after it repeat.
     *
     * @throws Partial the first {@link Partial#written()} are in the journal (synced), the others
     *     are not (and, as for {@link #append}, a failure to write means every later append fails)
     */
    public synchronized void appendAll(
            String kind, List<byte[]> payloads, java.util.function.Supplier<JournalState> after) throws Partial {
        if (!kinds.names().contains(kind)) {
            throw new IllegalArgumentException("unregistered change kind " + kind);
        }
        IOException closed = notWritable();
        if (closed != null) {
            throw new Partial(0, closed);
        }
        int written = 0;
        IOException fault = null;
        for (byte[] payload : payloads) {
            fault = injected(); // tests only
            if (fault != null) {
                break;
            }
            try {
                writeUnsynced(appender, new JournalEntry(nextSeq, JournalEntry.Type.CHANGE, kind, payload));
            } catch (RuntimeException e) {
                failedWith = new IOException("append to " + genDir(generation) + ": " + oneLine(e.getMessage()), e);
                fault = failedWith;
                break;
            }
            nextSeq++;
            written++;
        }
        try {
            appender.sync(); // what was written, whole entries, reaches the disk
        } catch (RuntimeException e) {
            failedWith = new IOException("sync " + genDir(generation) + ": " + oneLine(e.getMessage()), e);
            throw new Partial(0, failedWith);
        }
        changesInGeneration += written;
        for (int i = 0; i < written; i++) {
            bytesInGeneration += payloads.get(i).length;
        }
        if (fault != null) {
            throw new Partial(written, fault);
        }
        compactIfDue(after);
    }

    /** Why nothing can be appended (an earlier failure, or not open for writing), or null. */
    private IOException notWritable() {
        if (failedWith != null) {
            return new IOException("the journal failed earlier (" + oneLine(failedWith.getMessage()) + ")");
        }
        if (appender == null) {
            return new IOException("the journal is not open for writing");
        }
        return null;
    }

    /**
     * After changes were appended: compacts the generation into a snapshot of {@code after} once
     * it holds {@code compactAfter} changes and they are worth a new snapshot (see {@link
     * #BIG_SNAPSHOT_BYTES}). A failed compaction is logged and retried later; the changes are on
     * disk in the current generation either way.
     */
    private void compactIfDue(java.util.function.Supplier<JournalState> after) {
        if (changesInGeneration < compactAfter
                || (snapshotBytes >= BIG_SNAPSHOT_BYTES && bytesInGeneration < snapshotBytes)) {
            return;
        }
        try {
            begin(after.get());
        } catch (IOException | RuntimeException e) {
            changesInGeneration = compactAfter / 2;
            System.getLogger(Journal.class.getName())
                    .log(System.Logger.Level.WARNING, "journal compaction failed: " + e.getMessage());
        }
    }

    /** {@link #appendAll} could write only the first {@link #written()} of its changes. */
    public static final class Partial extends IOException {
        private final int written;

        Partial(int written, IOException cause) {
            super(cause.getMessage(), cause);
            this.written = written;
        }

        /** How many of the changes, from the first, are in the journal. */
        public int written() {
            return written;
        }
    }

    private static void write(ExcerptAppender a, JournalEntry e) {
        writeUnsynced(a, e);
        a.sync();
    }

    private static void writeUnsynced(ExcerptAppender a, JournalEntry e) {
        byte[] bytes = e.encode();
        try (DocumentContext dc = a.writingDocument()) {
            try {
                dc.wire().bytes().write(bytes);
            } catch (RuntimeException x) {
                dc.rollbackOnClose();
                throw x;
            }
        }
    }

    /** The sequence number the next entry gets. */
    public synchronized long nextSeq() {
        return nextSeq;
    }

    /** The generation being written (0 before {@link #begin}). */
    public synchronized int generation() {
        return generation;
    }

    synchronized void injectFailure(IOException e) {
        injectFailure(e, 0);
    }

    /** Tests only: the entries after the next {@code after} fail with {@code e}. */
    synchronized void injectFailure(IOException e, int after) {
        injectAfter = after;
        injected = e;
    }

    /** Tests only: the fault the next entry meets, or null. */
    private IOException injected() {
        IOException e = injected;
        if (e != null && injectAfter > 0) {
            injectAfter--;
            return null;
        }
        return e;
    }

    @Override
    public synchronized void close() {
        if (queue != null) {
            queue.close();
            queue = null;
            appender = null;
        }
        try {
            lock.release();
            lockFile.close();
        } catch (IOException e) {
            // closing: nothing to do
        }
    }

    // ---- files ----------------------------------------------------------------------------

    private static SingleChronicleQueue build(Path gd, boolean readOnly) {
        return SingleChronicleQueueBuilder.binary(gd)
                .rollCycle(RollCycles.FAST_DAILY)
                .syncMode(SyncMode.SYNC)
                .readOnly(readOnly)
                .timeoutMS(2000)
                .build();
    }

    Path genDir(int g) {
        return dir.resolve(String.format("%s%08d", GEN, g));
    }

    List<Integer> generations() {
        List<Integer> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.forEach(p -> {
                String n = p.getFileName().toString();
                if (n.startsWith(GEN) && n.length() == GEN.length() + 8 && Files.isDirectory(p)) {
                    try {
                        out.add(Integer.parseInt(n.substring(GEN.length())));
                    } catch (NumberFormatException e) {
                        // not ours
                    }
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    static void syncDir(Path d) throws IOException {
        try (FileChannel c = FileChannel.open(d, StandardOpenOption.READ)) {
            c.force(true);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        }
    }

    private static String stamp() {
        return ZonedDateTime.now(ZoneOffset.UTC).format(STAMP);
    }

    static String oneLine(String s) {
        return s == null ? "(no message)" : s.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
