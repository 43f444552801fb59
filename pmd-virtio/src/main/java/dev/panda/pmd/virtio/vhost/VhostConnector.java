package dev.panda.pmd.virtio.vhost;

import static java.lang.System.Logger.Level.ERROR;

import dev.panda.pmd.virtio.vhostuser.Backoff;
import dev.panda.pmd.virtio.vhostuser.UnixSocket;
import dev.panda.pmd.virtio.vhostuser.Wakeup;
import java.nio.file.Path;

/**
 * Where the back-end's control thread gets its next front-end connection from: a listening
 * socket (server mode, the default) or a connection it makes itself to a listening front-end
 * ({@code client=1}: QEMU's {@code -chardev socket,server=on}, DPDK's virtio-user
 * {@code server=1}), retried with {@link Backoff} while nobody listens. {@link #next()} runs on
 * the control thread, which also closes; {@link #wake()} is for the thread closing the port.
 */
sealed interface VhostConnector permits VhostConnector.Listening, VhostConnector.Dialing {

    /** Blocks until a front-end is connected; null once {@link #wake()} was called or the socket failed. */
    UnixSocket next();

    /** Makes {@link #next()} return null, now or at its next call. Any thread. */
    void wake();

    /** Releases the listener or the wake-up; control thread, after its last {@link #next()}. */
    void close();

    /** Server mode: accepts on a socket bound to the path (removed again on close). */
    final class Listening implements VhostConnector {
        private static final System.Logger LOG = System.getLogger(Listening.class.getName());
        private final String name;
        private final Path path;
        private final UnixSocket listener;
        private final Wakeup wakeup = new Wakeup();

        Listening(String name, Path path) {
            this.name = name;
            this.path = path;
            this.listener = UnixSocket.listen(path, 1);
        }

        @Override
        public UnixSocket next() {
            try {
                if (wakeup.await(listener, -1) != Wakeup.READABLE) {
                    return null;
                }
                return listener.accept();
            } catch (RuntimeException e) {
                if (!wakeup.woken()) {
                    LOG.log(
                            ERROR,
                            "{0}: accept on {1} failed, the port stops listening: {2}",
                            name,
                            path,
                            e.toString());
                }
                return null;
            }
        }

        @Override
        public void wake() {
            wakeup.wake();
            listener.shutdown(); // an accept already past the poll wakes too (shutdown and close share a lock)
        }

        @Override
        public void close() {
            listener.close();
            wakeup.close();
        }
    }

    /** Client mode: connects to the front-end's socket, again after every disconnect. */
    final class Dialing implements VhostConnector {
        /** A connection that lasted this long resets the backoff; a shorter one is paced like a failure. */
        private static final long STABLE_NANOS = 200_000_000L;

        private final Path path;
        private final Backoff backoff;
        private final Wakeup wakeup = new Wakeup();
        private long connectedAt;

        Dialing(String name, Path path) {
            this.path = path;
            this.backoff = new Backoff(name);
        }

        @Override
        public UnixSocket next() {
            if (connectedAt != 0) {
                if (System.nanoTime() - connectedAt >= STABLE_NANOS) {
                    backoff.stable();
                } else if (!wakeup.sleep(backoff.pace())) {
                    return null;
                }
            }
            while (!wakeup.woken()) {
                try {
                    UnixSocket s = UnixSocket.connect(path);
                    backoff.succeeded();
                    connectedAt = System.nanoTime();
                    return s;
                } catch (RuntimeException e) {
                    long pause = backoff.failed("no front-end listening on " + path + " (" + e.getMessage() + ")");
                    if (!wakeup.sleep(pause)) {
                        return null;
                    }
                }
            }
            return null;
        }

        @Override
        public void wake() {
            wakeup.wake();
        }

        @Override
        public void close() {
            wakeup.close();
        }
    }
}
