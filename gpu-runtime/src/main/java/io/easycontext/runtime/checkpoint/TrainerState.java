package io.easycontext.runtime.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.easycontext.runtime.io.InvalidFileException;
import io.easycontext.runtime.train.TrainConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code trainer_state.json}: where a run stood when a checkpoint was taken. The learning rate and the data follow
 * from the step (the schedule is a function of the step, and sample {@code i} of a seed is always the same
 * sequence), and nothing in training draws random numbers after initialisation, so the step, the seed and the
 * settings that shape the trajectory are the whole state besides the tensors.
 *
 * @param step         optimizer steps completed
 * @param nextSequence index of the first sequence the next step reads
 * @param worldSize    ranks that wrote optimizer state
 * @param trajectory   every setting a resumed run must share to continue the same run, by name
 * @param data         the data source's description, for the record
 */
record TrainerState(long step, long nextSequence, int worldSize, Map<String, String> trajectory, String data) {

    static final String FILE = "trainer_state.json";
    private static final int FORMAT = 1;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    static TrainerState of(TrainConfig config, long step, String data) {
        long perStep = (long) config.batchSize() * config.parallel().dpDegree() * config.gradientAccumulation();
        return new TrainerState(step, step * perStep, config.parallel().worldSize(), trajectory(config), data);
    }

    /**
     * The settings that decide every step's numbers. {@code max_train_steps} is not one: a resumed run may go on
     * for longer. The model's shape and rope settings are in the checkpoint's config.json.
     */
    static Map<String, String> trajectory(TrainConfig c) {
        Map<String, String> t = new LinkedHashMap<>();
        t.put("model", c.model().toString());
        t.put("parallel", c.parallel().toString());
        t.put("seq_length", String.valueOf(c.seqLength()));
        t.put("batch_size", String.valueOf(c.batchSize()));
        t.put("gradient_accumulate_every", String.valueOf(c.gradientAccumulation()));
        t.put("learning_rate", String.valueOf(c.learningRate()));
        t.put("warmup_steps", String.valueOf(c.warmupSteps()));
        t.put("weight_decay", String.valueOf(c.weightDecay()));
        t.put("max_grad_norm", String.valueOf(c.maxGradNorm()));
        t.put("seed", String.valueOf(c.seed()));
        t.put("dtype", c.dtype().toString());
        // The optimizer files are per rank either way but hold all parameters or a shard; where a sharded state
        // lives (device or host) is not part of the trajectory: the files hold values, and any offload reads them.
        t.put("zero_stage", String.valueOf(c.sharding().stage()));
        // The moments' type changes every update's rounding. (Checkpoints from before the option have no entry, and
        // were fp32: their optimizer files then say so.)
        t.put("optimizer_moments", c.optimizerMoments().flag());
        return t;
    }

    /** Refuses to continue under settings that would make a different run, naming the first that differs. */
    void checkResumable(Path checkpoint, TrainConfig now) {
        Map<String, String> current = trajectory(now);
        for (Map.Entry<String, String> e : trajectory.entrySet()) {
            String value = current.get(e.getKey());
            if (!e.getValue().equals(value)) {
                throw new IllegalArgumentException("cannot resume from " + checkpoint + ": it was trained with "
                        + e.getKey() + " " + e.getValue() + ", this run has " + value);
            }
        }
        if (step > now.maxTrainSteps()) {
            throw new IllegalArgumentException("cannot resume from " + checkpoint + ": it is at step " + step
                    + ", beyond max_train_steps " + now.maxTrainSteps());
        }
    }

    void write(Path file) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("step", step);
        root.put("next_sequence", nextSequence);
        root.put("world_size", worldSize);
        ObjectNode t = root.putObject("trajectory");
        trajectory.forEach(t::put);
        root.put("data", data);
        JSON.writeValue(file.toFile(), root);
    }

    static TrainerState read(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new InvalidFileException(file, "cannot be read as JSON: " + e.getMessage(), e);
        }
        if (root == null || root.path("format").asInt() != FORMAT) {
            throw new InvalidFileException(file, "is not a format " + FORMAT + " trainer state");
        }
        for (String field : new String[]{"step", "next_sequence", "world_size", "trajectory"}) {
            if (!root.hasNonNull(field)) {
                throw new InvalidFileException(file, "has no field '" + field + "'");
            }
        }
        Map<String, String> trajectory = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.get("trajectory").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            trajectory.put(e.getKey(), e.getValue().asText());
        }
        return new TrainerState(root.get("step").asLong(), root.get("next_sequence").asLong(),
                root.get("world_size").asInt(), trajectory, root.path("data").asText());
    }
}
