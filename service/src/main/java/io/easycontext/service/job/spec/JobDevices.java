package io.easycontext.service.job.spec;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.spec.Devices;
import io.easycontext.runtime.spec.EvalSpec;
import io.easycontext.runtime.spec.RunSpec;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.spec.Violation;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * How a job's {@code gpus} and its section's {@code devices} go together. The scheduler, not the request, picks the
 * GPUs a job runs on: a job asks for {@code gpus: N}, its section's devices name N GPUs, and the ordinals they name
 * are replaced by the GPUs the job is given when it starts ({@link #onGpus}). So:
 * <ul>
 *   <li>{@code gpus: 0} runs on the CPU backend: devices must be {@code cpu:N} (the default is {@code cpu:1});</li>
 *   <li>{@code gpus: N > 0} with devices left out (which reads as their default, {@code cpu:1}) runs on N GPUs: the
 *       devices become {@code cuda:0,…,N−1} until it starts;</li>
 *   <li>{@code gpus: N > 0} with devices {@code cuda:…} of N GPUs is accepted as is; any other count, or
 *       {@code cpu:M}, is refused on the section's {@code devices}.</li>
 * </ul>
 * Whether the node has N GPUs is the node's to say ({@code gpus} against its GPUs), not the runtime's: the runtime
 * checks that the GPUs a spec names exist on the machine that validates it, which in CI has none, and those
 * ordinals are placeholders anyway. {@link #withoutGpus} gives the runtime a spec it can check everywhere.
 */
public final class JobDevices {

    /** The spec records are the API's JSON: editing one field of that JSON copies every other field as it is. */
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private JobDevices() {
    }

    /**
     * The section a job of {@code gpus} GPUs runs: one whose devices were left out gets {@code cuda:0,…,N−1}.
     * An evaluation's parallel mode is chosen from its devices, as the CLI chooses it from {@code --devices}:
     * left out with the devices, it was data_parallel, which cannot spread an evaluation over several ranks (each
     * sequence is shared by all of them), so it is chosen again for the GPUs.
     */
    static RunSpec defaultedToGpus(RunSpec section, int gpus) {
        if (section == null || gpus < 1 || gpus > JobSpec.MAX_GPUS || !Devices.DEFAULT.equals(section.devices())) {
            return section;
        }
        boolean chooseMode = section instanceof EvalSpec eval && eval.parallelMode() == ParallelMode.DATA_PARALLEL;
        return withDevices(section, placeholders(gpus).toString(), chooseMode);
    }

    /**
     * What is wrong with the job's devices given its {@code gpus}, under full field paths ({@code gpus},
     * {@code train.devices}); nothing where the devices do not parse, which the section's own check reports.
     */
    static List<Violation> check(JobSpec job) {
        RunSpec section = job.spec();
        Devices devices;
        try {
            devices = Devices.parse(section.devices());
        } catch (IllegalArgumentException e) {
            return List.of();
        }
        String field = JobSpec.sectionName(job.kind()) + ".devices";
        List<Violation> violations = new ArrayList<>();
        if (job.gpus() == 0 && devices.cuda()) {
            violations.add(new Violation("gpus", "must be " + devices.ranks() + " to run on " + devices
                    + ": a job holds GPUs through gpus, and the scheduler picks which"));
        } else if (job.gpus() > 0 && !devices.cuda()) {
            violations.add(new Violation(field, "must be left out or cuda:… with " + job.gpus()
                    + " GPU(s) for a job with gpus " + job.gpus() + ", not " + devices));
        } else if (job.gpus() > 0 && devices.ranks() != job.gpus()) {
            violations.add(new Violation(field, "must name " + job.gpus() + " GPU(s), as gpus asks, not "
                    + devices.ranks() + " (" + devices + "); the scheduler replaces the ordinals with the GPUs it"
                    + " assigns"));
        }
        return violations;
    }

    /**
     * The spec with GPUs replaced by as many CPU ranks: everything the runtime checks but the GPUs' presence (the
     * parallel layout over the world size above all) holds for both, and this one it can check without them. A
     * training's {@code autoMemory} is cleared with the GPUs: the runtime refuses it on CPU ranks, and what it
     * chooses is the node's to decide ({@code TrainingMemory}, the executor), from the spec as submitted.
     */
    public static RunSpec withoutGpus(RunSpec spec) {
        Devices devices;
        try {
            devices = Devices.parse(spec.devices());
        } catch (IllegalArgumentException e) {
            return spec;
        }
        if (!devices.cuda()) {
            return spec;
        }
        ObjectNode fields = JSON.valueToTree(spec);
        fields.put("devices", "cpu:" + devices.ranks());
        if (spec instanceof TrainSpec) {
            fields.put("autoMemory", false);
        }
        return JSON.treeToValue(fields, spec.getClass());
    }

    /** The spec on the GPUs the scheduler gave the job, rank i on the i-th; as it is for the CPU backend. */
    public static RunSpec onGpus(RunSpec spec, List<Integer> gpuIds) {
        if (gpuIds.isEmpty()) {
            return spec;
        }
        return withDevices(spec, new Devices(gpuIds.size(), gpuIds).toString(), false);
    }

    private static Devices placeholders(int gpus) {
        return new Devices(gpus, IntStream.range(0, gpus).boxed().toList());
    }

    private static RunSpec withDevices(RunSpec spec, String devices, boolean chooseMode) {
        ObjectNode fields = JSON.valueToTree(spec);
        fields.put("devices", devices);
        if (chooseMode) {
            fields.putNull("parallelMode");
        }
        return JSON.treeToValue(fields, spec.getClass());
    }
}
