package dev.panda.xdp.ebpf;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.MethodModel;
import org.junit.jupiter.api.Test;

/**
 * HotSpot does not JIT-compile methods of more than 8000 bytecode bytes (-XX:+DontCompileHugeMethods,
 * the default): the translated prefilter must stay below, or it would run as interpreted bytecode.
 */
class TranslatorSizeTest {

    @Test
    void translatedPrefilterMethodsAreSmallEnoughToCompile() {
        EbpfObject obj = EbpfObject.open(KernelDifferentialTest.object("classes", "prefilter"), 1);
        for (String name : obj.programNames()) {
            ClassModel cm = ClassFile.of().parse(Translator.classBytes(obj.program(name)));
            for (MethodModel m : cm.methods()) {
                int size = m.code()
                        .map(c -> ((java.lang.classfile.attribute.CodeAttribute) c).codeLength())
                        .orElse(0);
                System.out.println(name + "." + m.methodName().stringValue() + ": " + size + " bytes of bytecode for "
                        + obj.program(name).length() + " eBPF instructions");
                assertTrue(size <= Translator.HUGE_METHOD, m.methodName().stringValue() + " has " + size + " bytes");
            }
        }
    }

    @Test
    void programsTooLargeToCompileAreRefusedWithAReason() {
        Asm a = new Asm();
        for (int i = 0; i < 3000; i++) {
            a.insn(Isa.CLS_ALU64 | Isa.ADD, 3, 0, 0, i);
        }
        EbpfProgram p = a.mov64(0, 2).exit().program(java.util.List.of());
        var e = org.junit.jupiter.api.Assertions.assertThrows(BpfFormatException.class, () -> Translator.translate(p));
        assertTrue(e.getMessage().contains("interpreter"), e.getMessage());
        // the interpreter runs it
        assertTrue(new EngineRun(new Interpreter(p), new XdpContext(java.util.List.of(), 0))
                        .run(new byte[20])
                        .verdict()
                == 2);
    }
}
