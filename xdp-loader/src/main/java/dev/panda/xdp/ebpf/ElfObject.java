package dev.panda.xdp.ebpf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A small, defensive reader of the ELF64 relocatable objects clang emits for {@code -target bpf}:
 * section headers, the symbol table and the {@code SHT_REL} relocations of each section. Every
 * offset and size is checked against the file before it is used, so an untrusted object gives a
 * {@link BpfFormatException}, never an out-of-bounds read (fuzzed by {@code ElfObjectFuzzTest}).
 *
 * <p>Layouts from the System V gABI, "Object Files" (ELF header, Sections, Symbol Table,
 * Relocation), for ELFCLASS64 and ELFDATA2LSB (the only data encoding libbpf accepts on x86).
 */
public final class ElfObject {

    static final int EM_BPF = 247;
    static final int SHT_SYMTAB = 2;
    static final int SHT_STRTAB = 3;
    static final int SHT_NOBITS = 8;
    static final int SHT_REL = 9;
    static final long SHF_EXECINSTR = 0x4;
    static final int STT_FUNC = 2;
    static final int STT_SECTION = 3;
    static final int STB_GLOBAL = 1;
    /** Upper bounds that keep a hostile header from making us loop or allocate much. */
    static final int MAX_SECTIONS = 4096;

    static final int MAX_SYMBOLS = 1 << 16;

    /** One section header (gABI "Section Header"). */
    public record Section(
            int index, String name, int type, long flags, long offset, long size, int link, int info, long entsize) {
        public boolean executable() {
            return (flags & SHF_EXECINSTR) != 0;
        }
    }

    /** One {@code Elf64_Sym}. */
    public record Symbol(String name, int bind, int type, int shndx, long value, long size) {}

    /** One {@code Elf64_Rel}: {@code offset} in the section it applies to, its symbol and type. */
    public record Relocation(long offset, Symbol symbol, int type) {}

    private final ByteBuffer file;
    private final List<Section> sections;
    private final List<Symbol> symbols;

    private ElfObject(ByteBuffer file, List<Section> sections, List<Symbol> symbols) {
        this.file = file;
        this.sections = sections;
        this.symbols = symbols;
    }

    /** Parses {@code bytes} (not copied: do not change them afterwards). */
    public static ElfObject parse(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 64) {
            throw new BpfFormatException("not an ELF object: " + bytes.length + " bytes, the ELF64 header alone is 64");
        }
        if (b.getInt(0) != 0x464c457f) {
            throw new BpfFormatException("not an ELF object: bad magic");
        }
        if (bytes[4] != 2) {
            throw new BpfFormatException("not an ELF64 object (EI_CLASS " + bytes[4] + ")");
        }
        if (bytes[5] != 1) {
            throw new BpfFormatException("not a little-endian ELF object (EI_DATA " + bytes[5] + ")");
        }
        int machine = Short.toUnsignedInt(b.getShort(18));
        if (machine != EM_BPF) {
            throw new BpfFormatException("not an eBPF object: e_machine " + machine + ", expected EM_BPF (247)");
        }
        long shoff = b.getLong(40);
        int shentsize = Short.toUnsignedInt(b.getShort(58));
        int shnum = Short.toUnsignedInt(b.getShort(60));
        int shstrndx = Short.toUnsignedInt(b.getShort(62));
        if (shnum == 0 || shnum > MAX_SECTIONS) {
            throw new BpfFormatException("unsupported section count " + shnum);
        }
        if (shentsize < 64) {
            throw new BpfFormatException("section header entry size " + shentsize + " < 64");
        }
        checkRange(bytes.length, shoff, (long) shentsize * shnum, "section header table");
        if (shstrndx >= shnum) {
            throw new BpfFormatException("section name table index " + shstrndx + " >= " + shnum + " sections");
        }
        long[][] raw = new long[shnum][];
        for (int i = 0; i < shnum; i++) {
            int at = (int) (shoff + (long) i * shentsize);
            raw[i] = new long[] {
                Integer.toUnsignedLong(b.getInt(at)),
                Integer.toUnsignedLong(b.getInt(at + 4)),
                b.getLong(at + 8),
                b.getLong(at + 24),
                b.getLong(at + 32),
                Integer.toUnsignedLong(b.getInt(at + 40)),
                Integer.toUnsignedLong(b.getInt(at + 44)),
                b.getLong(at + 56)
            };
            int type = (int) raw[i][1];
            if (type != SHT_NOBITS && i != 0) {
                checkRange(bytes.length, raw[i][3], raw[i][4], "section " + i);
            }
        }
        long[] strtab = raw[shstrndx];
        List<Section> sections = new ArrayList<>(shnum);
        for (int i = 0; i < shnum; i++) {
            long[] s = raw[i];
            String name = i == 0 ? "" : string(b, strtab, s[0]);
            if (s[5] >= shnum) {
                throw new BpfFormatException("section " + name + ": sh_link " + s[5] + " >= " + shnum);
            }
            sections.add(new Section(
                    i, name, (int) s[1], s[2], s[3], s[4], (int) s[5], (int) Math.min(s[6], Integer.MAX_VALUE), s[7]));
        }
        List<Symbol> symbols = new ArrayList<>();
        Section symtab = null;
        for (Section s : sections) {
            if (s.type() == SHT_SYMTAB) {
                if (symtab != null) {
                    throw new BpfFormatException("more than one symbol table");
                }
                symtab = s;
            }
        }
        if (symtab != null) {
            long count = symtab.size() / 24;
            if (count > MAX_SYMBOLS) {
                throw new BpfFormatException("too many symbols: " + count);
            }
            long[] names = raw[symtab.link()];
            for (int i = 0; i < count; i++) {
                int at = (int) (symtab.offset() + 24L * i);
                int info = b.get(at + 4) & 0xff;
                int shndx = Short.toUnsignedInt(b.getShort(at + 6));
                symbols.add(new Symbol(
                        string(b, names, Integer.toUnsignedLong(b.getInt(at))),
                        info >>> 4,
                        info & 0xf,
                        shndx,
                        b.getLong(at + 8),
                        b.getLong(at + 16)));
            }
        }
        return new ElfObject(b, List.copyOf(sections), List.copyOf(symbols));
    }

    private static void checkRange(long fileSize, long offset, long size, String what) {
        if (offset < 0 || size < 0 || offset > fileSize || size > fileSize - offset) {
            throw new BpfFormatException(
                    what + " [" + offset + ", +" + size + ") lies outside the " + fileSize + "-byte file");
        }
    }

    private static String string(ByteBuffer b, long[] strtab, long index) {
        if (strtab[1] != SHT_STRTAB) {
            throw new BpfFormatException("string table is not SHT_STRTAB");
        }
        if (index >= strtab[4]) {
            throw new BpfFormatException("string index " + index + " beyond its table (" + strtab[4] + " bytes)");
        }
        int start = (int) (strtab[3] + index);
        int end = (int) (strtab[3] + strtab[4]);
        int i = start;
        while (i < end && b.get(i) != 0) {
            i++;
        }
        if (i == end) {
            throw new BpfFormatException("unterminated string at index " + index);
        }
        byte[] s = new byte[i - start];
        b.get(start, s);
        return new String(s, StandardCharsets.UTF_8);
    }

    public List<Section> sections() {
        return sections;
    }

    public List<Symbol> symbols() {
        return symbols;
    }

    /** The section called {@code name}, or null. */
    public Section section(String name) {
        for (Section s : sections) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        return null;
    }

    /** A copy of a section's bytes (zeros for {@code SHT_NOBITS}, e.g. {@code .bss}). */
    public byte[] bytes(Section s) {
        if (s.size() > Integer.MAX_VALUE - 8) {
            throw new BpfFormatException("section " + s.name() + " too large: " + s.size());
        }
        byte[] out = new byte[(int) s.size()];
        if (s.type() != SHT_NOBITS) {
            file.get((int) s.offset(), out);
        }
        return out;
    }

    /** The relocations that apply to section {@code target} (from every {@code SHT_REL} whose sh_info names it). */
    public List<Relocation> relocations(Section target) {
        List<Relocation> out = new ArrayList<>();
        for (Section s : sections) {
            if (s.type() != SHT_REL || s.info() != target.index()) {
                continue;
            }
            if (sections.get(s.link()).type() != SHT_SYMTAB) {
                throw new BpfFormatException("relocation section " + s.name() + " does not link to the symbol table");
            }
            long count = s.size() / 16;
            for (int i = 0; i < count; i++) {
                int at = (int) (s.offset() + 16L * i);
                long offset = file.getLong(at);
                long info = file.getLong(at + 8);
                long sym = info >>> 32;
                if (sym >= symbols.size()) {
                    throw new BpfFormatException(
                            "relocation " + i + " of " + s.name() + " names symbol " + sym + " of " + symbols.size());
                }
                out.add(new Relocation(offset, symbols.get((int) sym), (int) info));
            }
        }
        return out;
    }
}
