package io.easycontext.runtime.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.io.InvalidFileException;
import io.easycontext.runtime.io.SafetensorsDType;
import io.easycontext.runtime.io.SafetensorsFile;
import io.easycontext.runtime.io.SafetensorsWriter;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.LocalAttention;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.model.RopeScaling;
import io.easycontext.runtime.tensor.Bf16;
import io.easycontext.runtime.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HfModelDirTest {

    private static final LlamaConfig TINY = LlamaConfig.of(32, 48, 2, 4, 2, 40);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final CpuBackend f32 = new CpuBackend(DType.F32);

    private Path saved(LlamaConfig config, SafetensorsDType dtype, long maxShard) throws IOException {
        Path out = dir.resolve("model-" + dtype + "-" + maxShard);
        try (LlamaWeights w = LlamaWeights.initialize(f32, config, 5)) {
            HfModelWriter.save(f32, w, out, dtype, maxShard, null);
        }
        return out;
    }

    @Test
    void hfNamesAndShapesAreTransformersStateDictForOneLayer() {
        Map<String, int[]> layout = LlamaWeights.layout(LlamaConfig.of(8, 12, 1, 2, 1, 10));
        assertThat(layout.keySet()).containsExactly("model.embed_tokens.weight",
                "model.layers.0.input_layernorm.weight", "model.layers.0.self_attn.q_proj.weight",
                "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.v_proj.weight",
                "model.layers.0.self_attn.o_proj.weight", "model.layers.0.post_attention_layernorm.weight",
                "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight",
                "model.layers.0.mlp.down_proj.weight", "model.norm.weight", "lm_head.weight");
        assertThat(layout.get("model.layers.0.self_attn.k_proj.weight")).containsExactly(4, 8); // [out, in]
        assertThat(layout.get("model.layers.0.mlp.down_proj.weight")).containsExactly(8, 12);
    }

    @Test
    void shardedSaveLoadsBackBitForBitWithTheSameLogits() throws IOException {
        Path out = saved(TINY, SafetensorsDType.F32, 10_000);
        ObjectNode index = (ObjectNode) JSON.readTree(out.resolve(HfModelDir.INDEX).toFile());
        try (Stream<Path> files = Files.list(out)) {
            List<String> shards = files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("model-"))
                    .sorted().toList();
            assertThat(shards).hasSizeGreaterThan(2).allMatch(n -> n.matches("model-\\d{5}-of-\\d{5}\\.safetensors"));
            assertThat(index.get("weight_map").size()).isEqualTo(LlamaWeights.layout(TINY).size());
            long total = 0;
            for (String shard : shards) {
                try (SafetensorsFile f = SafetensorsFile.open(out.resolve(shard))) {
                    assertThat(f.metadata()).containsEntry("format", "pt");
                    for (String n : f.names()) {
                        total += f.info(n).byteSize();
                        assertThat(index.get("weight_map").get(n).asText()).isEqualTo(shard);
                    }
                }
            }
            assertThat(index.get("metadata").get("total_size").asLong()).isEqualTo(total);
        }
        HfModelDir loaded = HfModelDir.open(out);
        assertThat(loaded.config()).isEqualTo(TINY);
        int[] ids = {3, 1, 4, 1, 5, 9, 2, 6};
        int[] pos = {0, 1, 2, 3, 4, 5, 6, 7};
        try (LlamaWeights original = LlamaWeights.initialize(f32, TINY, 5); LlamaWeights back = loaded.load(f32, null)) {
            for (Parameter p : original.parameters()) {
                assertThat(f32.download(back.get(p.name()).value())).as(p.name())
                        .containsExactly(f32.download(p.value()));
            }
            double[][] a = new LlamaModel(original, LlamaModel.Options.DEFAULTS).logitsAt(f32, ids, pos, 1, pos,
                    LocalAttention.INSTANCE);
            double[][] b = new LlamaModel(back, LlamaModel.Options.DEFAULTS).logitsAt(f32, ids, pos, 1, pos,
                    LocalAttention.INSTANCE);
            assertThat(b).isDeepEqualTo(a);
        }
    }

    @Test
    void bf16SaveIsOneFileOfRoundedValuesAndConfigCarriesTheNewTheta() throws IOException {
        LlamaConfig config = TINY.withRope(500_000, 4096).withTiedEmbeddings(true);
        Path out = saved(config, SafetensorsDType.BF16, HfModelWriter.DEFAULT_MAX_SHARD_BYTES);
        assertThat(out.resolve(HfModelDir.SINGLE)).exists();
        assertThat(out.resolve(HfModelDir.INDEX)).doesNotExist();
        ObjectNode json = (ObjectNode) JSON.readTree(out.resolve("config.json").toFile());
        assertThat(json.get("rope_theta").asDouble()).isEqualTo(500_000);
        assertThat(json.get("rope_parameters").get("rope_theta").asDouble()).isEqualTo(500_000);
        assertThat(json.get("architectures").get(0).asText()).isEqualTo("LlamaForCausalLM");
        assertThat(json.get("torch_dtype").asText()).isEqualTo("bfloat16");
        assertThat(json.get("tie_word_embeddings").asBoolean()).isTrue();
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve(HfModelDir.SINGLE));
             LlamaWeights original = LlamaWeights.initialize(f32, config, 5)) {
            assertThat(f.names()).doesNotContain("lm_head.weight");
            double[] v = f32.download(original.get("model.layers.1.mlp.up_proj.weight").value());
            float[] stored = f.readFloats("model.layers.1.mlp.up_proj.weight");
            for (int i = 0; i < v.length; i++) {
                assertThat(stored[i]).isEqualTo(Bf16.round((float) v[i]));
            }
        }
        assertThat(HfModelDir.open(out).config()).isEqualTo(config);
    }

    @Test
    void ropeThetaIsOverriddenAtLoadAndLlama3ScalingSurvivesASave() throws IOException {
        LlamaConfig scaled = new LlamaConfig(32, 48, 1, 4, 2, 8, 40, 1e-5, 10_000, 8192, false, 0.02,
                RopeScaling.llama3(8, 1, 4, 2048));
        Path out = saved(scaled, SafetensorsDType.F32, HfModelWriter.DEFAULT_MAX_SHARD_BYTES);
        try (LlamaWeights w = HfModelDir.open(out).load(f32, 1_000_000.0)) {
            assertThat(w.config().ropeTheta()).isEqualTo(1_000_000);
            assertThat(w.config().ropeScaling()).isEqualTo(scaled.ropeScaling());
        }
    }

    @Test
    void transformers5RopeParametersAndMistralWithoutWindowAreRead() throws IOException {
        Path d = Files.createDirectories(dir.resolve("v5"));
        Files.writeString(d.resolve("config.json"), """
                {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 32,
                 "intermediate_size": 48, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
                 "vocab_size": 40, "max_position_embeddings": 4096, "sliding_window": null,
                 "rope_parameters": {"rope_type": "linear", "factor": 4.0, "rope_theta": 250000.0}}
                """);
        LlamaConfig c = HfModelDir.open(d).config();
        assertThat(c.ropeTheta()).isEqualTo(250_000);
        assertThat(c.ropeScaling()).isEqualTo(RopeScaling.linear(4));
        assertThat(HfModelDir.open(d).hasWeights()).isFalse();
    }

    @Test
    void unsupportedArchitecturesAreRefusedByName() throws IOException {
        Path qwen = Files.createDirectories(dir.resolve("qwen"));
        Files.writeString(qwen.resolve("config.json"), "{\"architectures\": [\"Qwen2ForCausalLM\"], "
                + "\"model_type\": \"qwen2\", \"hidden_size\": 32}");
        assertThatThrownBy(() -> HfModelDir.open(qwen)).isInstanceOf(InvalidFileException.class)
                .hasMessageContaining(qwen.resolve("config.json").toString()).hasMessageContaining("qwen2")
                .hasMessageContaining("not supported");
        Path mistral = Files.createDirectories(dir.resolve("mistral"));
        Files.writeString(mistral.resolve("config.json"), "{\"model_type\": \"mistral\", \"hidden_size\": 32, "
                + "\"intermediate_size\": 48, \"num_hidden_layers\": 1, \"num_attention_heads\": 4, "
                + "\"vocab_size\": 40, \"max_position_embeddings\": 32768, \"sliding_window\": 4096}");
        assertThatThrownBy(() -> HfModelDir.open(mistral)).hasMessageContaining("sliding_window 4096")
                .hasMessageContaining("32768");
        Path yarn = Files.createDirectories(dir.resolve("yarn"));
        Files.writeString(yarn.resolve("config.json"), "{\"model_type\": \"llama\", \"hidden_size\": 32, "
                + "\"intermediate_size\": 48, \"num_hidden_layers\": 1, \"num_attention_heads\": 4, "
                + "\"vocab_size\": 40, \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}}");
        assertThatThrownBy(() -> HfModelDir.open(yarn)).hasMessageContaining("rope_scaling")
                .hasMessageContaining("'yarn' is not supported");
    }

    @Test
    void missingMisshapedAndForeignTensorsAreNamed() throws Exception {
        Path out = saved(TINY, SafetensorsDType.F32, HfModelWriter.DEFAULT_MAX_SHARD_BYTES);
        Path single = out.resolve(HfModelDir.SINGLE);
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(single)) {
            for (String n : f.names()) {
                double[] v = f.readDoubles(n);
                entries.add(new SafetensorsWriter.Entry(n, SafetensorsDType.F32, f.info(n).shape(), () -> v));
            }
        }
        String gone = "model.layers.1.self_attn.v_proj.weight";
        SafetensorsWriter.write(single, Map.of("format", "pt"),
                entries.stream().filter(e -> !e.name().equals(gone)).toList());
        assertThatThrownBy(() -> HfModelDir.open(out).load(f32, null)).isInstanceOf(InvalidFileException.class)
                .hasMessageContaining(out.toString()).hasMessageContaining("'" + gone + "'");

        List<SafetensorsWriter.Entry> misshaped = new ArrayList<>(entries);
        misshaped.replaceAll(e -> e.name().equals(gone)
                ? new SafetensorsWriter.Entry(gone, SafetensorsDType.F32, new long[]{8, 32}, () -> new double[256]) : e);
        SafetensorsWriter.write(single, Map.of("format", "pt"), misshaped);
        assertThatThrownBy(() -> HfModelDir.open(out).load(f32, null)).isInstanceOf(InvalidFileException.class)
                .hasMessageContaining(single.toString()).hasMessageContaining("'" + gone + "'")
                .hasMessageContaining("[8, 32]").hasMessageContaining("[16, 32]");

        List<SafetensorsWriter.Entry> biased = new ArrayList<>(entries);
        biased.add(new SafetensorsWriter.Entry("model.layers.0.self_attn.q_proj.bias", SafetensorsDType.F32,
                new long[]{32}, () -> new double[32]));
        SafetensorsWriter.write(single, Map.of("format", "pt"), biased);
        assertThatThrownBy(() -> HfModelDir.open(out).load(f32, null)).hasMessageContaining("q_proj.bias");
    }

    @Test
    void anIndexPointingAtAMissingShardIsNamed() throws IOException {
        Path out = saved(TINY, SafetensorsDType.F32, 10_000);
        try (Stream<Path> files = Files.list(out)) {
            Files.delete(files.filter(p -> p.getFileName().toString().startsWith("model-00002-of-")).findFirst()
                    .orElseThrow());
        }
        assertThatThrownBy(() -> HfModelDir.open(out).load(f32, null)).isInstanceOf(InvalidFileException.class)
                .hasMessageContaining(HfModelDir.INDEX).hasMessageContaining("model-00002-of-");
    }

    @Test
    void pickledWeightsAreRefusedRatherThanIgnored() throws IOException {
        Path d = Files.createDirectories(dir.resolve("pickle"));
        Files.writeString(d.resolve("config.json"), "{\"hidden_size\": 32, \"intermediate_size\": 48, "
                + "\"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"vocab_size\": 40}");
        Files.write(d.resolve("pytorch_model.bin"), new byte[10]);
        assertThatThrownBy(() -> HfModelDir.open(d).hasWeights()).hasMessageContaining("pytorch_model.bin")
                .hasMessageContaining("only safetensors");
    }
}
