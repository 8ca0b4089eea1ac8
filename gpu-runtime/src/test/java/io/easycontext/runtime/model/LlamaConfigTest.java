package io.easycontext.runtime.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LlamaConfigTest {

    @TempDir
    Path dir;

    /** Meta's Llama-2-7b-hf config.json, verbatim. */
    private static final String LLAMA2_7B = """
            {
              "architectures": ["LlamaForCausalLM"],
              "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 4096,
              "initializer_range": 0.02, "intermediate_size": 11008, "max_position_embeddings": 4096,
              "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
              "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": null, "tie_word_embeddings": false,
              "torch_dtype": "float16", "transformers_version": "4.31.0.dev0", "use_cache": true, "vocab_size": 32000
            }""";

    @Test
    void readsAHuggingFaceConfigIgnoringUnknownFields() throws IOException {
        LlamaConfig c = LlamaConfig.fromJson(write(LLAMA2_7B));
        assertThat(c).isEqualTo(LlamaConfig.preset("llama2-7b"));
        assertThat(c.headDim()).isEqualTo(128);
        assertThat(c.rmsNormEps()).isEqualTo(1e-5);
        assertThat(c.parameterCount()).isEqualTo(6_738_415_616L); // as Hugging Face reports for Llama-2-7b
        assertThat(LlamaConfig.preset("llama3-8b").parameterCount()).isEqualTo(8_030_261_248L);
    }

    @Test
    void optionalFieldsTakeHuggingFaceDefaults() throws IOException {
        LlamaConfig c = LlamaConfig.fromJson(write("""
                {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "vocab_size": 256}"""));
        assertThat(c.numKeyValueHeads()).isEqualTo(4);
        assertThat(c.headDim()).isEqualTo(16);
        assertThat(c.rmsNormEps()).isEqualTo(1e-6);
        assertThat(c.ropeTheta()).isEqualTo(10000);
        assertThat(c.maxPositionEmbeddings()).isEqualTo(2048);
        assertThat(c.tieWordEmbeddings()).isFalse();
        assertThat(c.ropeScaling()).isNull();
    }

    @Test
    void anExplicitHeadDimAndLlama3RopeScalingAreRead() throws IOException {
        LlamaConfig c = LlamaConfig.fromJson(write("""
                {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "head_dim": 32, "vocab_size": 256, "rope_theta": 500000.0,
                 "tie_word_embeddings": true,
                 "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                  "original_max_position_embeddings": 8192, "rope_type": "llama3"}}"""));
        assertThat(c.headDim()).isEqualTo(32);
        assertThat(c.qDim()).isEqualTo(128);
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(c.ropeScaling()).isEqualTo(RopeScaling.llama3(8, 1, 4, 8192));
    }

    @Test
    void aMissingRequiredFieldIsNamedWithTheFile() throws IOException {
        Path file = write("{\"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
                + "\"vocab_size\": 256}");
        assertThatThrownBy(() -> LlamaConfig.fromJson(file)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("hidden_size is missing");
    }

    @Test
    void inconsistentOrMistypedNumbersAreNamedWithTheFile() throws IOException {
        Path groups = write("{\"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, "
                + "\"num_attention_heads\": 4, \"num_key_value_heads\": 3, \"vocab_size\": 256}");
        assertThatThrownBy(() -> LlamaConfig.fromJson(groups)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(groups.toString()).hasMessageContaining("num_key_value_heads 3");
        Path split = write("{\"hidden_size\": 65, \"intermediate_size\": 128, \"num_hidden_layers\": 2, "
                + "\"num_attention_heads\": 4, \"vocab_size\": 256}");
        assertThatThrownBy(() -> LlamaConfig.fromJson(split)).hasMessageContaining(split.toString())
                .hasMessageContaining("hidden_size 65 is not a multiple of num_attention_heads 4");
        Path typed = write("{\"hidden_size\": \"64\", \"intermediate_size\": 128, \"num_hidden_layers\": 2, "
                + "\"num_attention_heads\": 4, \"vocab_size\": 256}");
        assertThatThrownBy(() -> LlamaConfig.fromJson(typed)).hasMessageContaining("hidden_size must be an integer");
        Path negative = write("{\"hidden_size\": 64, \"intermediate_size\": -1, \"num_hidden_layers\": 2, "
                + "\"num_attention_heads\": 4, \"vocab_size\": 256}");
        assertThatThrownBy(() -> LlamaConfig.fromJson(negative)).hasMessageContaining(negative.toString())
                .hasMessageContaining("intermediate_size must be positive");
    }

    @Test
    void variantsThisDecoderWouldComputeWronglyAreRejected() throws IOException {
        Path biased = write("{\"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, "
                + "\"num_attention_heads\": 4, \"vocab_size\": 256, \"attention_bias\": true}");
        assertThatThrownBy(() -> LlamaConfig.fromJson(biased)).hasMessageContaining("attention_bias");
        Path dynamic = write("{\"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, "
                + "\"num_attention_heads\": 4, \"vocab_size\": 256, \"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 2}}");
        assertThatThrownBy(() -> LlamaConfig.fromJson(dynamic)).hasMessageContaining("rope_scaling type 'dynamic'");
    }

    @Test
    void presetsAreKnownByName() {
        for (String name : LlamaConfig.PRESETS) {
            assertThat(LlamaConfig.preset(name).vocabSize()).isPositive();
        }
        LlamaConfig tiny = LlamaConfig.preset("tiny");
        assertThat(tiny.numAttentionHeads() / tiny.numKeyValueHeads()).isEqualTo(2);
        assertThat(LlamaConfig.preset("tiny-mha").numKeyValueHeads()).isEqualTo(4);
        assertThatThrownBy(() -> LlamaConfig.preset("huge")).hasMessageContaining("tiny");
    }

    private Path write(String json) throws IOException {
        Path file = Files.createTempFile(dir, "config", ".json");
        Files.writeString(file, json);
        return file;
    }
}
