/**
 * The vhost-user control path (QEMU docs/interop/vhost-user.rst), shared by the back-end
 * ({@code net_vhost}) and the front-end ({@code net_virtio_user}):
 * <ul>
 *   <li>{@link dev.panda.pmd.virtio.vhostuser.UnixSocket}: AF_UNIX stream socket over FFM with
 *       up to 8 descriptors per message in one SCM_RIGHTS control message;</li>
 *   <li>{@link dev.panda.pmd.virtio.vhostuser.VhostUserMessage},
 *       {@link dev.panda.pmd.virtio.vhostuser.VhostUserRequest},
 *       {@link dev.panda.pmd.virtio.vhostuser.VhostUserCodec}: the messages and their wire
 *       format; decoding untrusted bytes gives a {@link dev.panda.pmd.virtio.vhostuser.DecodeResult},
 *       never an exception;</li>
 *   <li>{@link dev.panda.pmd.virtio.vhostuser.VhostUserChannel}: one message at a time over a socket;</li>
 *   <li>{@link dev.panda.pmd.virtio.vhostuser.MemoryTable}: SET_MEM_TABLE's regions mapped as
 *       bounds-checked segments, a {@link dev.panda.pmd.virtio.ring.GuestMemory} for guest
 *       addresses and another for front-end user addresses.</li>
 * </ul>
 * Control path only: nothing here runs on a poller, except {@code MemoryTable}'s lookups.
 */
package dev.panda.pmd.virtio.vhostuser;
