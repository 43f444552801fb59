package dev.panda.vswitch.capture;

/**
 * A capture as {@code capture list} shows it. {@code matched} frames passed the filter;
 * {@code captured} were appended to the queue; {@code dropped} found the ring full (the writer was
 * behind) or could not be appended. Once the capture is stopped, captured + dropped = matched;
 * while it runs, the difference is what is in the ring ({@code pending}).
 */
public record CaptureView(
        String name,
        String port,
        String dir,
        int snaplen,
        String filter,
        String roll,
        long maxBytes,
        long maxAge,
        String directory,
        String state,
        int ringSlots,
        long matched,
        long captured,
        long dropped,
        long pending,
        long capturedBytes,
        long queueBytes) {}
