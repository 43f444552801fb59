/**
 * {@code net_pcap}: a port that replays a capture file on rx and records what it transmits to
 * another, as DPDK's {@code net_pcap} does: {@code net_pcapN,rx_pcap=in.pcap,tx_pcap=out.pcap}.
 *
 * <ul>
 *   <li>{@link dev.panda.dataplane.ports.pcap.PcapFormat}: the libpcap file format (global and
 *       record headers), nothing else.</li>
 *   <li>{@link dev.panda.dataplane.ports.pcap.PcapReader}: parses records in place from a
 *       read-only mapping of the file and copies them into pool buffers. The file is untrusted
 *       input: every length is checked before it is used, a broken record ends rx with a counted
 *       error instead of an exception. It parses any {@link java.lang.foreign.MemorySegment}, so
 *       the fuzz test drives it without files.</li>
 *   <li>{@link dev.panda.dataplane.ports.pcap.PcapWriter}: appends microsecond records to one
 *       preallocated direct buffer, flushed with a {@link java.nio.channels.FileChannel} write.</li>
 *   <li>{@code PcapPort} ties them to the {@link dev.panda.dataplane.port.Port} contract; the
 *       driver parses the device string.</li>
 * </ul>
 *
 * <p>Format reference: draft-ietf-opsawg-pcap (the libpcap file format), and tcpdump.org's
 * LINKTYPE list (LINKTYPE_ETHERNET = 1).
 */
package dev.panda.dataplane.ports.pcap;
