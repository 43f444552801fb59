package dev.panda.vswitch.flow;

/**
 * A field's value and mask. A mask bit 1 means the packet's bit must equal the value's; an exact
 * match has every bit of the field's width set. For 128-bit fields {@code valueHi}/{@code maskHi}
 * hold the upper 64 bits; for narrower fields they are 0.
 */
public record Masked(long value, long mask, long valueHi, long maskHi) {

    /** An exact match of a field up to 64 bits wide ({@code mask} -1: trimmed by the match). */
    public static Masked exact(long value) {
        return new Masked(value, -1L, 0, 0);
    }

    public static Masked of(long value, long mask) {
        return new Masked(value, mask, 0, 0);
    }

    /** A 128-bit value and mask, as upper and lower halves. */
    public static Masked of128(long valueHi, long valueLo, long maskHi, long maskLo) {
        return new Masked(valueLo, maskLo, valueHi, maskHi);
    }

    /** An exact 128-bit value. */
    public static Masked exact128(long valueHi, long valueLo) {
        return new Masked(valueLo, -1L, valueHi, -1L);
    }

    /** This value and mask cut to {@code f}'s width. */
    public Masked trimmed(Field f) {
        return new Masked(value, mask & f.fullMask(), valueHi, maskHi & f.fullMaskHi());
    }

    /** True if the mask covers the whole width of {@code f}. */
    public boolean isExact(Field f) {
        return (mask & f.fullMask()) == f.fullMask() && (maskHi & f.fullMaskHi()) == f.fullMaskHi();
    }

    /** True if {@code v} (and {@code vHi}) agree with this value where the mask has ones. */
    public boolean matches(long v, long vHi) {
        return ((v ^ value) & mask) == 0 && ((vHi ^ valueHi) & maskHi) == 0;
    }
}
