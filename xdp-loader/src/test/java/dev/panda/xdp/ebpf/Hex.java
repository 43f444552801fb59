package dev.panda.xdp.ebpf;

import java.util.HexFormat;

final class Hex {
    private Hex() {}

    static String of(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    static byte[] bytes(String hex) {
        return HexFormat.of().parseHex(hex.replace(" ", ""));
    }
}
