package dev.panda.vswitch.control;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.charset.StandardCharsets;

/**
 * The control API's JSON: records written with kebab-case keys ({@code rx-packets},
 * {@code mac-aging}), the same spelling as the config file, indented, one trailing newline.
 */
public final class Json {

    /**
     * A body that repeats a key, or has anything but whitespace after its one value, is not JSON
     * the API takes (400), as the README's table says.
     */
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .propertyNamingStrategy(PropertyNamingStrategies.KEBAB_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private Json() {}

    public static byte[] bytes(Object value) {
        try {
            return (MAPPER.writeValueAsString(value) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** {@code {"error": "...", "status": N}}. */
    public static byte[] error(int status, String message) {
        return bytes(new ErrorBody(message, status, null));
    }

    /** {@code {"error": "...", "status": N, "field": "ports[0].tag"}}; no field key when field is null. */
    public static byte[] error(int status, String message, String field) {
        return bytes(new ErrorBody(message, status, field));
    }

    /** The body of every 4xx/5xx answer; {@code field} names the body's field a 400 is about. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ErrorBody(String error, int status, String field) {}
}
