package io.easycontext.runtime.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.io.InvalidFileException;
import io.easycontext.runtime.io.SafetensorsFile;
import io.easycontext.runtime.io.TensorInfo;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaWeights;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * A Hugging Face model directory: {@code config.json} and the weights, either one {@code model.safetensors} or shards
 * listed by {@code model.safetensors.index.json}. Weights of any float type load converted to the backend's
 * precision. A directory with a config and no weights describes a shape only.
 */
public final class HfModelDir {

    public static final String CONFIG = "config.json";
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    /** Older transformers saved rope's frequencies as a buffer; they follow from the config and are recomputed. */
    private static final String ROPE_BUFFER_SUFFIX = ".rotary_emb.inv_freq";

    private final Path dir;
    private final ObjectNode rawConfig;
    private final LlamaConfig config;

    private HfModelDir(Path dir, ObjectNode rawConfig, LlamaConfig config) {
        this.dir = dir;
        this.rawConfig = rawConfig;
        this.config = config;
    }

    /** Reads and checks {@code dir/config.json}; the weights are read by {@link #load}. */
    public static HfModelDir open(Path dir) {
        Path file = dir.resolve(CONFIG);
        if (!Files.isRegularFile(file)) {
            throw new InvalidFileException(dir, "is not a Hugging Face model directory: it has no " + CONFIG);
        }
        return new HfModelDir(dir, HfConfigJson.readTree(file), HfConfigJson.read(file));
    }

    public Path dir() {
        return dir;
    }

    public LlamaConfig config() {
        return config;
    }

    /** The config as written, so that a save keeps the fields this runtime does not model. */
    public ObjectNode rawConfig() {
        return rawConfig.deepCopy();
    }

    /** Whether the directory holds safetensors weights, or only a config. */
    public boolean hasWeights() {
        if (Files.isRegularFile(dir.resolve(INDEX)) || Files.isRegularFile(dir.resolve(SINGLE))) {
            return true;
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> pickles = files.filter(f -> f.getFileName().toString().endsWith(".bin")
                    || f.getFileName().toString().endsWith(".pth")).toList();
            if (!pickles.isEmpty()) {
                throw new InvalidFileException(dir, "holds PyTorch pickles " + pickles.stream()
                        .map(Path::getFileName).toList() + " but no " + SINGLE + "; only safetensors weights are "
                        + "read (save_pretrained writes them by default)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        return false;
    }

    /**
     * The weights onto {@code backend}, for this directory's config with its rope theta replaced by
     * {@code ropeTheta} when that is not null (EasyContext raises theta for long contexts). Every parameter must be
     * present with its exact shape; a tensor the model has no place for is refused, since it means a different
     * architecture (biases, say).
     */
    public LlamaWeights load(Backend backend, Double ropeTheta) {
        LlamaConfig c = ropeTheta == null ? config : config.withRope(ropeTheta, config.maxPositionEmbeddings());
        Map<String, Path> where = weightMap();
        Map<Path, SafetensorsFile> files = new LinkedHashMap<>();
        try {
            for (Path f : new TreeSet<>(where.values())) {
                files.put(f, SafetensorsFile.open(f));
            }
            checkTensors(c, where, files);
            Map<String, int[]> layout = LlamaWeights.layout(c);
            return LlamaWeights.load(backend, c, (name, value) -> {
                SafetensorsFile file = files.get(where.get(name));
                TensorInfo info = file.info(name);
                int[] shape = layout.get(name);
                if (!info.hasShape(shape)) {
                    throw new InvalidFileException(file.path(), "tensor '" + name + "' has shape "
                            + info.shapeText() + ", but the config needs " + Arrays.toString(shape));
                }
                if (!info.dtype().isFloatingPoint()) {
                    throw new InvalidFileException(file.path(), "tensor '" + name + "' has dtype " + info.dtype()
                            + ", not a floating-point type");
                }
                backend.upload(value, file.readFloats(name));
            });
        } finally {
            files.values().forEach(SafetensorsFile::close);
        }
    }

    /** Which file holds each tensor: from the index when sharded, else every tensor of the single file. */
    private Map<String, Path> weightMap() {
        Path index = dir.resolve(INDEX);
        Map<String, Path> where = new LinkedHashMap<>();
        if (Files.isRegularFile(index)) {
            ObjectNode root = HfConfigJson.readTree(index);
            JsonNode map = root.get("weight_map");
            if (map == null || !map.isObject()) {
                throw new InvalidFileException(index, "has no weight_map object");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                Path shard = dir.resolve(e.getValue().asText()).normalize();
                if (!shard.startsWith(dir.normalize()) || !Files.isRegularFile(shard)) {
                    throw new InvalidFileException(index, "maps tensor '" + e.getKey() + "' to '"
                            + e.getValue().asText() + "', which is not a file in " + dir);
                }
                where.put(e.getKey(), shard);
            }
            return where;
        }
        Path single = dir.resolve(SINGLE);
        if (!Files.isRegularFile(single)) {
            throw new InvalidFileException(dir, "has neither " + INDEX + " nor " + SINGLE);
        }
        try (SafetensorsFile f = SafetensorsFile.open(single)) {
            f.names().forEach(n -> where.put(n, single));
        }
        return where;
    }

    private void checkTensors(LlamaConfig c, Map<String, Path> where, Map<Path, SafetensorsFile> files) {
        Set<String> expected = LlamaWeights.layout(c).keySet();
        for (String name : expected) {
            Path file = where.get(name);
            if (file == null) {
                throw new InvalidFileException(dir, "has no tensor '" + name + "' (its weights lack it)");
            }
            if (!files.get(file).contains(name)) {
                throw new InvalidFileException(file, "has no tensor '" + name + "', which "
                        + INDEX + " says it holds");
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (String name : where.keySet()) {
            // A tied model's lm_head is the embedding; transformers ignores a stored copy, and so do we.
            boolean tiedCopy = c.tieWordEmbeddings() && name.equals("lm_head.weight");
            if (!expected.contains(name) && !tiedCopy && !name.endsWith(ROPE_BUFFER_SUFFIX)) {
                unexpected.add(name);
            }
        }
        if (!unexpected.isEmpty()) {
            throw new InvalidFileException(dir, unexpected.size() + " tensors a Llama model has no place for, such as "
                    + unexpected.subList(0, Math.min(5, unexpected.size())));
        }
    }
}
