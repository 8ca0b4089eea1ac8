package io.easycontext.runtime.train;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.Parameter;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * A replica's parameters on the host, by name: how one run hands its weights to the next in the same process (the
 * stages of a progressive training). Values are float32, the type every backend uploads from.
 */
public final class WeightsSnapshot {

    private final Map<String, float[]> values;

    private WeightsSnapshot(Map<String, float[]> values) {
        this.values = values;
    }

    /** The parameters of {@code weights} as they are now (a loaded model: the initial weights of a run). */
    public static WeightsSnapshot of(Backend backend, LlamaWeights weights) {
        Map<String, float[]> values = new LinkedHashMap<>();
        for (Parameter p : weights.parameters()) {
            double[] d = backend.download(p.value());
            float[] f = new float[d.length];
            for (int i = 0; i < d.length; i++) {
                f[i] = (float) d[i];
            }
            values.put(p.name(), f);
        }
        return new WeightsSnapshot(values);
    }

    /** Overwrites every parameter; the model must have the same parameters with the same shapes. */
    void loadInto(Backend backend, LlamaWeights weights) {
        if (!values.keySet().equals(weightNames(weights))) {
            throw new IllegalArgumentException("the snapshot's parameters " + values.keySet()
                    + " are not the model's " + weightNames(weights));
        }
        for (Parameter p : weights.parameters()) {
            float[] v = values.get(p.name());
            if (v.length != p.value().numel()) {
                throw new IllegalArgumentException(p.name() + " has " + p.value().numel()
                        + " elements in the model but " + v.length + " in the snapshot");
            }
            backend.upload(p.value(), v);
        }
    }

    private static Set<String> weightNames(LlamaWeights weights) {
        Set<String> names = new LinkedHashSet<>();
        weights.parameters().forEach(p -> names.add(p.name()));
        return names;
    }
}
