package io.easycontext.runtime.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parsed and checked header of a safetensors file. The format: an 8-byte little-endian unsigned header
 * length {@code n}, then {@code n} bytes of UTF-8 JSON mapping each tensor name to
 * {@code {"dtype", "shape", "data_offsets": [begin, end]}} (offsets relative to the byte after the header) and an
 * optional {@code "__metadata__"} of string pairs, then the raw little-endian tensor data. Every check that
 * reading a tensor would otherwise trip over later is done here, once, with the tensor's name.
 */
record SafetensorsHeader(Map<String, TensorInfo> tensors, Map<String, String> metadata, long dataStart) {

    /** The reference implementation's limit; a larger value is a corrupted length, not a real header. */
    static final long MAX_HEADER_BYTES = 100L << 20;

    static final String METADATA = "__metadata__";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Checks that the file can hold the 8-byte length field at all, before anything is read. */
    static void checkSize(Path file, long fileSize) {
        if (fileSize < 8) {
            throw new InvalidFileException(file, "is " + fileSize + " bytes, too short for the 8-byte header length "
                    + "of a safetensors file");
        }
    }

    /** Reads the length field from the file's first 8 bytes and checks it against the file size. */
    static long headerLength(Path file, ByteBuffer first8, long fileSize) {
        long n = first8.order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        if (n < 2 || n > MAX_HEADER_BYTES || n > fileSize - 8) {
            throw new InvalidFileException(file, "header length " + Long.toUnsignedString(n) + " is impossible for a "
                    + "file of " + fileSize + " bytes (truncated or not a safetensors file)");
        }
        return n;
    }

    static SafetensorsHeader parse(Path file, byte[] json, long fileSize) {
        JsonNode root;
        try {
            root = JSON.readTree(new String(json, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new InvalidFileException(file, "header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new InvalidFileException(file, "header must be a JSON object");
        }
        long dataStart = 8L + json.length;
        long dataBytes = fileSize - dataStart;
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals(METADATA)) {
                metadata.putAll(metadata(file, e.getValue()));
            } else {
                tensors.put(e.getKey(), tensor(file, e.getKey(), e.getValue(), dataBytes));
            }
        }
        checkNoOverlap(file, tensors.values());
        return new SafetensorsHeader(Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata),
                dataStart);
    }

    private static Map<String, String> metadata(Path file, JsonNode node) {
        if (!node.isObject()) {
            throw new InvalidFileException(file, METADATA + " must be an object of strings");
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new InvalidFileException(file, METADATA + " field '" + e.getKey() + "' must be a string");
            }
            m.put(e.getKey(), e.getValue().textValue());
        }
        return m;
    }

    private static TensorInfo tensor(Path file, String name, JsonNode node, long dataBytes) {
        String where = "tensor '" + name + "'";
        if (!node.isObject()) {
            throw new InvalidFileException(file, where + " must be described by an object");
        }
        JsonNode dtypeNode = node.get("dtype");
        SafetensorsDType dtype = dtypeNode != null && dtypeNode.isTextual()
                ? SafetensorsDType.fromHeader(dtypeNode.textValue()) : null;
        if (dtype == null) {
            throw new InvalidFileException(file, where + " has dtype " + dtypeNode + ", not one of "
                    + List.of(SafetensorsDType.values()));
        }
        long[] shape = longs(file, where, "shape", node.get("shape"), -1);
        long[] offsets = longs(file, where, "data_offsets", node.get("data_offsets"), 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (end < begin) {
            throw new InvalidFileException(file, where + " has data_offsets [" + begin + ", " + end + "] that end "
                    + "before they begin");
        }
        if (end > dataBytes) {
            throw new InvalidFileException(file, where + " has data_offsets [" + begin + ", " + end + "] beyond the "
                    + dataBytes + " bytes of data in the file (truncated?)");
        }
        TensorInfo info = new TensorInfo(name, dtype, shape, begin, end);
        long needed;
        try {
            needed = Math.multiplyExact(info.numel(), dtype.bytes());
        } catch (ArithmeticException overflow) {
            throw new InvalidFileException(file, where + " has an impossibly large shape " + info.shapeText());
        }
        if (needed != end - begin) {
            throw new InvalidFileException(file, where + " holds " + (end - begin) + " bytes, but dtype " + dtype
                    + " and shape " + info.shapeText() + " need " + needed);
        }
        return info;
    }

    private static long[] longs(Path file, String where, String field, JsonNode node, int length) {
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw new InvalidFileException(file, where + " needs " + field + " as an array"
                    + (length >= 0 ? " of " + length + " integers" : " of integers") + ", got " + node);
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw new InvalidFileException(file, where + " has " + field + " " + node
                        + " with an entry that is not a non-negative integer");
            }
            values[i] = v.longValue();
        }
        return values;
    }

    /** Two tensors sharing bytes would alias each other on write; the format forbids it. */
    private static void checkNoOverlap(Path file, Iterable<TensorInfo> tensors) {
        List<TensorInfo> byBegin = new ArrayList<>();
        tensors.forEach(byBegin::add);
        byBegin.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        for (int i = 1; i < byBegin.size(); i++) {
            TensorInfo a = byBegin.get(i - 1);
            TensorInfo b = byBegin.get(i);
            if (b.begin() < a.end()) {
                throw new InvalidFileException(file, "tensors '" + a.name() + "' and '" + b.name()
                        + "' overlap in the data section");
            }
        }
    }
}
