package io.easycontext.runtime.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.easycontext.runtime.io.InvalidFileException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A Hugging Face {@code tokenizer.json}, run by the Rust {@code tokenizers} library through DJL. The special tokens'
 * ids come from {@code tokenizer_config.json} beside it ({@code bos_token}, {@code eos_token}), else from the
 * model's {@code config.json} ({@code bos_token_id}, {@code eos_token_id}); special tokens added on encoding come
 * from the file's own post-processor, as in {@code transformers}' fast tokenizers.
 */
public final class HfTokenizer implements Tokenizer {

    public static final String FILE = "tokenizer.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final HuggingFaceTokenizer withSpecials;
    private final HuggingFaceTokenizer plain;
    private final int vocabSize;
    private final OptionalInt bos;
    private final OptionalInt eos;

    private HfTokenizer(Path file, HuggingFaceTokenizer withSpecials, HuggingFaceTokenizer plain, int vocabSize,
                        OptionalInt bos, OptionalInt eos) {
        this.file = file;
        this.withSpecials = withSpecials;
        this.plain = plain;
        this.vocabSize = vocabSize;
        this.bos = bos;
        this.eos = eos;
    }

    /** Loads {@code path}: a {@code tokenizer.json}, or a directory holding one. */
    public static HfTokenizer load(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve(FILE) : path;
        if (!Files.isRegularFile(file)) {
            throw new InvalidFileException(file, "does not exist; a Hugging Face tokenizer needs its " + FILE);
        }
        JsonNode root = readJson(file);
        JsonNode model = root.get("model");
        if (model == null || !model.isObject()) {
            throw new InvalidFileException(file, "has no 'model' object, so it is not a tokenizer.json");
        }
        Vocabulary vocabulary = Vocabulary.of(file, root);
        Path dir = file.toAbsolutePath().getParent();
        OptionalInt bos = specialId(dir, vocabulary, "bos");
        OptionalInt eos = specialId(dir, vocabulary, "eos");
        HuggingFaceTokenizer withSpecials = djl(file, true);
        return new HfTokenizer(file, withSpecials, djl(file, false), vocabulary.size(), bos, eos);
    }

    /** Truncation and padding off: DJL's defaults would cut every text at 512 tokens. */
    private static HuggingFaceTokenizer djl(Path file, boolean addSpecialTokens) {
        try {
            return HuggingFaceTokenizer.builder().optTokenizerPath(file).optAddSpecialTokens(addSpecialTokens)
                    .optTruncation(false).optPadding(false).build();
        } catch (IOException | RuntimeException e) {
            throw new InvalidFileException(file, "cannot be loaded by Hugging Face tokenizers: " + e.getMessage(), e);
        } catch (UnsatisfiedLinkError e) {
            throw new IllegalStateException("the native Hugging Face tokenizers library (DJL) does not load on this "
                    + "platform (" + e.getMessage() + "); use --tokenizer byte", e);
        }
    }

    private static JsonNode readJson(Path file) {
        try {
            JsonNode root = JSON.readTree(file.toFile());
            if (root == null || !root.isObject()) {
                throw new InvalidFileException(file, "must hold a JSON object");
            }
            return root;
        } catch (IOException e) {
            throw new InvalidFileException(file, "is not valid JSON: " + e.getMessage(), e);
        }
    }

    /**
     * {@code kind_token} of tokenizer_config.json (a string or an {@code {"content": …}} object) looked up in the
     * vocabulary, else {@code kind_token_id} of config.json.
     */
    private static OptionalInt specialId(Path dir, Vocabulary vocabulary, String kind) {
        Path tokenizerConfig = dir.resolve("tokenizer_config.json");
        if (Files.isRegularFile(tokenizerConfig)) {
            JsonNode token = readJson(tokenizerConfig).get(kind + "_token");
            if (token != null && !token.isNull()) {
                String content = token.isObject() ? token.path("content").asText() : token.asText();
                Integer id = vocabulary.id(content);
                if (id == null) {
                    throw new InvalidFileException(tokenizerConfig, kind + "_token '" + content
                            + "' is not in the vocabulary of " + FILE);
                }
                return OptionalInt.of(id);
            }
        }
        Path modelConfig = dir.resolve("config.json");
        if (Files.isRegularFile(modelConfig)) {
            JsonNode id = readJson(modelConfig).get(kind + "_token_id");
            if (id != null && id.isArray() && !id.isEmpty()) {
                id = id.get(0);
            }
            if (id != null && id.canConvertToInt()) {
                return OptionalInt.of(id.intValue());
            }
        }
        return OptionalInt.empty();
    }

    @Override
    public int[] encode(String text) {
        return ints(plain.encode(text, false, false).getIds());
    }

    @Override
    public int[] encodeWithSpecialTokens(String text) {
        return ints(withSpecials.encode(text, true, false).getIds());
    }

    @Override
    public String decode(int[] ids) {
        long[] longs = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            longs[i] = ids[i];
        }
        return plain.decode(longs, true);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public OptionalInt bos() {
        return bos;
    }

    @Override
    public OptionalInt eos() {
        return eos;
    }

    @Override
    public String describe() {
        return "Hugging Face tokenizer " + file + " (vocab " + vocabSize + ", BOS " + text(bos) + ", EOS " + text(eos)
                + ")";
    }

    private static String text(OptionalInt id) {
        return id.isPresent() ? String.valueOf(id.getAsInt()) : "none";
    }

    private static int[] ints(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    @Override
    public void close() {
        withSpecials.close();
        plain.close();
    }

    /** The model's vocabulary and the added tokens: what ids exist and which string each special token is. */
    private record Vocabulary(Map<String, Integer> ids, int size) {

        static Vocabulary of(Path file, JsonNode root) {
            Map<String, Integer> ids = new HashMap<>();
            JsonNode vocab = root.get("model").get("vocab");
            int size = 0;
            if (vocab != null && vocab.isObject()) {
                for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    ids.put(e.getKey(), e.getValue().asInt());
                    size = Math.max(size, e.getValue().asInt() + 1);
                }
            } else if (vocab != null && vocab.isArray()) {
                // Unigram: [[piece, score], …], the id being the position.
                for (int i = 0; i < vocab.size(); i++) {
                    ids.put(vocab.get(i).path(0).asText(), i);
                }
                size = vocab.size();
            } else {
                throw new InvalidFileException(file, "model.vocab must be an object or an array");
            }
            for (JsonNode added : root.path("added_tokens")) {
                int id = added.path("id").asInt(-1);
                if (id < 0 || !added.path("content").isTextual()) {
                    throw new InvalidFileException(file, "added_tokens entry " + added + " needs an id and content");
                }
                ids.put(added.get("content").asText(), id);
                size = Math.max(size, id + 1);
            }
            return new Vocabulary(ids, size);
        }

        Integer id(String token) {
            return ids.get(token);
        }
    }
}
