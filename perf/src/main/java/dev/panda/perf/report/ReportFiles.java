package dev.panda.perf.report;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes report.json (Jackson; NaN as null), report.md and report.html into a directory. */
public final class ReportFiles {

    private ReportFiles() {}

    /** The JSON mapper: indented, every non-finite double written as null. */
    public static ObjectMapper mapper() {
        JsonSerializer<Double> nanAsNull = new JsonSerializer<>() {
            @Override
            public void serialize(Double v, JsonGenerator g, SerializerProvider p) throws IOException {
                if (v == null || !Double.isFinite(v)) {
                    g.writeNull();
                } else {
                    g.writeNumber(v);
                }
            }
        };
        SimpleModule m = new SimpleModule("panda-report");
        m.addSerializer(Double.class, nanAsNull);
        m.addSerializer(double.class, nanAsNull);
        return new ObjectMapper().registerModule(m).enable(SerializationFeature.INDENT_OUTPUT);
    }

    public static void write(Report r, Path dir) throws IOException {
        Files.createDirectories(dir);
        mapper().writeValue(dir.resolve("report.json").toFile(), r);
        Files.writeString(dir.resolve("report.md"), MarkdownReport.render(r));
        Files.writeString(dir.resolve("report.html"), HtmlReport.render(r));
    }
}
