package io.easycontext.runtime.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.easycontext.runtime.io.InvalidFileException;
import io.easycontext.runtime.tokenizer.Tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Documents on disk, in the two text layouts a corpus comes in: a JSON-lines file whose objects carry a
 * {@code text} or an {@code input_ids} field, or a directory of {@code .txt} files (one document each, in name
 * order). Tokenizing puts BOS before and EOS after every text document (where the tokenizer has them), so packed
 * windows show the model where documents begin; {@code input_ids} are taken as given, their producer having
 * decided on special tokens.
 */
public final class Documents {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One document: {@code text}, or already tokenized {@code ids}; {@code origin} locates it for errors. */
    public record Document(String origin, String text, int[] ids) {
    }

    private Documents() {
    }

    /** Whether {@code path} is a layout this class reads. */
    public static boolean isDocuments(Path path) {
        return Files.isDirectory(path) || path.getFileName().toString().endsWith(".jsonl");
    }

    /** Calls {@code each} for every document of {@code path}, streaming: a large file is never held whole. */
    public static void read(Path path, Consumer<Document> each) {
        if (Files.isDirectory(path)) {
            readTextFiles(path, each);
        } else if (path.getFileName().toString().endsWith(".jsonl")) {
            readJsonLines(path, each);
        } else {
            throw new InvalidFileException(path, "is neither a directory of .txt files, a .jsonl file, nor a token "
                    + "file");
        }
    }

    /** The document's tokens: BOS + text + EOS, or its ids checked against the vocabulary. */
    public static int[] tokens(Document d, Tokenizer tokenizer) {
        if (d.ids() != null) {
            for (int id : d.ids()) {
                if (id < 0 || id >= tokenizer.vocabSize()) {
                    throw new IllegalArgumentException(d.origin() + ": input_ids holds " + id + ", outside the "
                            + "vocabulary of " + tokenizer.vocabSize() + " (" + tokenizer.describe() + ")");
                }
            }
            return d.ids();
        }
        int[] body = tokenizer.encode(d.text());
        int bos = tokenizer.bos().isPresent() ? 1 : 0;
        int eos = tokenizer.eos().isPresent() ? 1 : 0;
        int[] ids = new int[bos + body.length + eos];
        if (bos == 1) {
            ids[0] = tokenizer.bos().getAsInt();
        }
        System.arraycopy(body, 0, ids, bos, body.length);
        if (eos == 1) {
            ids[ids.length - 1] = tokenizer.eos().getAsInt();
        }
        return ids;
    }

    private static void readTextFiles(Path dir, Consumer<Document> each) {
        List<Path> files;
        try (Stream<Path> listing = Files.list(dir)) {
            files = listing.filter(f -> f.getFileName().toString().endsWith(".txt") && Files.isRegularFile(f))
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        if (files.isEmpty()) {
            throw new InvalidFileException(dir, "holds no .txt files");
        }
        for (Path f : files) {
            try {
                each.accept(new Document(f.toString(), Files.readString(f, StandardCharsets.UTF_8), null));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + f + " as UTF-8 text", e);
            }
        }
    }

    private static void readJsonLines(Path file, Consumer<Document> each) {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null) {
                number++;
                if (!line.isBlank()) {
                    each.accept(jsonLine(file, number, line));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    private static Document jsonLine(Path file, int number, String line) {
        String origin = file + " line " + number;
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new InvalidFileException(file, "line " + number + " is not valid JSON: " + e.getOriginalMessage());
        }
        if (node.has("text")) {
            if (!node.get("text").isTextual()) {
                throw new InvalidFileException(file, "line " + number + ": field 'text' must be a string");
            }
            return new Document(origin, node.get("text").textValue(), null);
        }
        JsonNode ids = node.get("input_ids");
        if (ids == null || !ids.isArray()) {
            throw new InvalidFileException(file, "line " + number + " has neither a 'text' string nor an "
                    + "'input_ids' array");
        }
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) {
            if (!ids.get(i).canConvertToInt() || !ids.get(i).isIntegralNumber()) {
                throw new InvalidFileException(file, "line " + number + ": input_ids[" + i + "] is " + ids.get(i)
                        + ", not an integer");
            }
            out[i] = ids.get(i).intValue();
        }
        return new Document(origin, null, out);
    }
}
