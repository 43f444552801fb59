package dev.panda.vswitch.control;

import dev.panda.vswitch.VswitchException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The bearer token of the TCP control listener, read from a file only its owner may read (mode
 * 0600 or 0400): any permission bit for group or others refuses the file, as does a token shorter
 * than {@value #MIN_LENGTH} characters or one with characters a bearer token cannot carry. Only a
 * SHA-256 digest of it is kept; {@link #matches} compares digests in constant time, so neither
 * the token's bytes nor its length leak through timing.
 */
public final class ControlToken {

    /** Shortest token accepted (e.g. {@code head -c 32 /dev/urandom | base64}: 44). */
    public static final int MIN_LENGTH = 16;

    static final int MAX_LENGTH = 4096;

    private final byte[] digest;

    private ControlToken(byte[] digest) {
        this.digest = digest;
    }

    /** A token from its text (tests, the client). */
    public static ControlToken of(String token) {
        check(token, "token");
        return new ControlToken(sha256(token.getBytes(StandardCharsets.US_ASCII)));
    }

    /**
     * Reads the token file: one line (a trailing newline is ignored).
     *
     * @throws VswitchException 400 with one line: no such file, readable by others, empty, too
     *     short, or not a token
     */
    public static ControlToken read(Path file) {
        return of(readText(file, true));
    }

    /**
     * The token text of {@code file} (the client sends it).
     *
     * @param privateOnly refuse a file group or others may access
     */
    public static String readText(Path file, boolean privateOnly) {
        String name = "control token " + file;
        try {
            if (!Files.isRegularFile(file)) {
                throw VswitchException.badRequest(name + ": no such file");
            }
            if (privateOnly) {
                int mode = (Integer) Files.getAttribute(file, "unix:mode");
                if ((mode & 0077) != 0) {
                    throw VswitchException.badRequest(String.format(
                            "%s: mode %04o lets group or others read it; chmod 600 %s", name, mode & 07777, file));
                }
                int owner = (Integer) Files.getAttribute(file, "unix:uid");
                int me = ControlDirectory.uid();
                if (owner != me && owner != 0) {
                    throw VswitchException.badRequest(
                            name + ": owned by uid " + owner + ", not by this user (uid " + me + ") or root");
                }
            }
            if (Files.size(file) > MAX_LENGTH + 2) {
                throw VswitchException.badRequest(name + ": longer than " + MAX_LENGTH + " characters");
            }
            String text = Files.readString(file, StandardCharsets.ISO_8859_1);
            if (text.endsWith("\n")) {
                text = text.substring(0, text.length() - 1);
            }
            if (text.endsWith("\r")) {
                text = text.substring(0, text.length() - 1);
            }
            check(text, name);
            return text;
        } catch (NoSuchFileException e) {
            throw VswitchException.badRequest(name + ": no such file");
        } catch (IOException e) {
            throw VswitchException.badRequest(name + ": cannot read: " + e.getMessage());
        }
    }

    /** RFC 6750's b64token: letters, digits and {@code -._~+/}, then optional {@code =} padding. */
    private static void check(String token, String name) {
        if (token.length() < MIN_LENGTH) {
            throw VswitchException.badRequest(name + ": shorter than " + MIN_LENGTH + " characters");
        }
        if (token.length() > MAX_LENGTH) {
            throw VswitchException.badRequest(name + ": longer than " + MAX_LENGTH + " characters");
        }
        if (!token.matches("[A-Za-z0-9._~+/-]+=*")) {
            throw VswitchException.badRequest(
                    name + ": not a bearer token (letters, digits and -._~+/ then optional '=' padding; one line)");
        }
    }

    /** True if {@code authorization} is {@code Bearer <this token>}; constant time over the token. */
    boolean matches(String authorization) {
        if (authorization == null) {
            return false;
        }
        String a = authorization.strip();
        if (a.length() < 7 || !a.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        byte[] given = a.substring(7).strip().getBytes(StandardCharsets.ISO_8859_1);
        return MessageDigest.isEqual(digest, sha256(given));
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
    }
}
