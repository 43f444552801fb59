package dev.panda.vswitch.flow;

/**
 * What {@link BridgeFlows#apply} did: success (with how many flows were added, changed or
 * removed), or the error to send back and a sentence saying why.
 */
public record FlowModResult(FlowError error, String message, int affected) {

    public static FlowModResult ok(int affected) {
        return new FlowModResult(null, null, affected);
    }

    public static FlowModResult fail(FlowError error, String message) {
        return new FlowModResult(error, message, 0);
    }

    public boolean isOk() {
        return error == null;
    }
}
