package io.easycontext.runtime.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Hand-made Hugging Face tokenizers for tests (no hub): a GPT-2-style byte-level BPE whose base vocabulary is the
 * 256 byte symbols, so any text round-trips, plus a handful of English merges, {@code <s>} and {@code </s>}, and a
 * Llama-like post-processor that prepends {@code <s>}.
 */
public final class TestTokenizers {

    public static final int BOS = 266;
    public static final int EOS = 267;
    public static final int VOCAB_SIZE = 268;
    private static final String[][] MERGES = {{"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}, {"i", "n"}, {"e", "r"},
            {"a", "n"}, {"Ġ", "a"}, {"o", "n"}, {"Ġ", "o"}, {"r", "e"}};

    private TestTokenizers() {
    }

    /** GPT-2's reversible map from bytes to printable symbols, so that a byte-level vocabulary is text. */
    static String byteSymbol(int b) {
        boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable) {
            return String.valueOf((char) b);
        }
        int n = 0;
        for (int x = 0; x < b; x++) {
            boolean p = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
            if (!p) {
                n++;
            }
        }
        return String.valueOf((char) (256 + n));
    }

    /** Writes {@code tokenizer.json} (and, when asked, a {@code tokenizer_config.json} naming BOS/EOS) into dir. */
    public static Path writeByteLevelBpe(Path dir, boolean withTokenizerConfig) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        addSpecial(added, BOS, "<s>");
        addSpecial(added, EOS, "</s>");
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", true);
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        post.putArray("single").addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        ((ArrayNode) post.get("single")).addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode special = post.putObject("special_tokens").putObject("<s>");
        special.put("id", "<s>");
        special.putArray("ids").add(BOS);
        special.putArray("tokens").add("<s>");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true).put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout").putNull("unk_token").putNull("continuing_subword_prefix")
                .putNull("end_of_word_suffix").put("fuse_unk", false).put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int b = 0; b < 256; b++) {
            vocab.put(byteSymbol(b), b);
        }
        List<String> merges = new ArrayList<>();
        int id = 256;
        for (String[] m : MERGES) {
            vocab.put(m[0] + m[1], id++);
            merges.add(m[0] + " " + m[1]);
        }
        ArrayNode mergeArray = model.putArray("merges");
        merges.forEach(mergeArray::add);
        Files.createDirectories(dir);
        Path file = dir.resolve("tokenizer.json");
        json.writeValue(file.toFile(), root);
        if (withTokenizerConfig) {
            ObjectNode config = json.createObjectNode();
            config.put("bos_token", "<s>");
            config.putObject("eos_token").put("content", "</s>");
            json.writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
        }
        return file;
    }

    private static void addSpecial(ArrayNode added, int id, String content) {
        added.addObject().put("id", id).put("content", content).put("single_word", false).put("lstrip", false)
                .put("rstrip", false).put("normalized", false).put("special", true);
    }
}
