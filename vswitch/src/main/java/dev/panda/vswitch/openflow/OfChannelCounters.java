package dev.panda.vswitch.openflow;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** The OpenFlow channels' counters, for metrics and {@code ctl get-controller}. */
public final class OfChannelCounters {

    final LongAdder accepted = new LongAdder();
    final LongAdder connected = new LongAdder();
    final LongAdder connectFailures = new LongAdder();
    final LongAdder messagesIn = new LongAdder();
    final LongAdder decodeErrors = new LongAdder();
    final LongAdder refused = new LongAdder();
    final LongAdder helloFailed = new LongAdder();
    final LongAdder probeTimeouts = new LongAdder();
    final LongAdder flowMods = new LongAdder();
    final LongAdder packetOuts = new LongAdder();
    final LongAdder packetIns = new LongAdder();
    final LongAdder tooManyConnections = new LongAdder();
    /** PACKET_IN, FLOW_REMOVED and PORT_STATUS not sent to a peer that was not reading. */
    final LongAdder asyncDropped = new LongAdder();
    /** BARRIER_REPLYs sent before the PACKET_OUTs ahead of them, after waiting the longest allowed. */
    final LongAdder barriersLate = new LongAdder();

    /** Name to value, in a fixed order (the metrics and the README use these names). */
    public Map<String, Long> snapshot() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("accepted", accepted.sum());
        m.put("connected", connected.sum());
        m.put("connect_failures", connectFailures.sum());
        m.put("messages_in", messagesIn.sum());
        m.put("decode_errors", decodeErrors.sum());
        m.put("refused", refused.sum());
        m.put("hello_failed", helloFailed.sum());
        m.put("probe_timeouts", probeTimeouts.sum());
        m.put("flow_mods", flowMods.sum());
        m.put("packet_outs", packetOuts.sum());
        m.put("packet_ins", packetIns.sum());
        m.put("too_many_connections", tooManyConnections.sum());
        m.put("async_dropped", asyncDropped.sum());
        m.put("barriers_late", barriersLate.sum());
        return m;
    }
}
