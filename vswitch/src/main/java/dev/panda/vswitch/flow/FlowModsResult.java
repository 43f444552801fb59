package dev.panda.vswitch.flow;

import java.util.List;

/**
 * What {@link BridgeFlows#applyAll} did with a run of flow mods: all carried out ({@code refusedAt}
 * -1, each one's result in {@code results}, in order), or none, because the one at index {@code
 * refusedAt} was refused ({@code results} then holds that refusal alone).
 */
public record FlowModsResult(List<FlowModResult> results, int refusedAt) {

    public FlowModsResult {
        results = List.copyOf(results);
    }

    static FlowModsResult ok(List<FlowModResult> results) {
        return new FlowModsResult(results, -1);
    }

    static FlowModsResult refused(int index, FlowModResult refusal) {
        return new FlowModsResult(List.of(refusal), index);
    }

    public boolean isOk() {
        return refusedAt < 0;
    }

    /** The refusal (null when every flow mod was carried out). */
    public FlowModResult refusal() {
        return isOk() ? null : results.getFirst();
    }

    /** Flows added, changed or removed by the whole run (0 when refused). */
    public int affected() {
        int n = 0;
        if (isOk()) {
            for (FlowModResult r : results) {
                n += r.affected();
            }
        }
        return n;
    }
}
