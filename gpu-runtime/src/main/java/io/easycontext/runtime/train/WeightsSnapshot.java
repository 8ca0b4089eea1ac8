package io.easycontext.runtime.train;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.Parameter;

import java.util.LinkedHashMap;
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

    /**
     * What fills a model of {@code config}'s parameters with these values, uploaded to {@code backend}; the model must
     * have the same parameters with the same shapes.
     */
    LlamaWeights.Loader loader(Backend backend, LlamaConfig config) {
        Set<String> names = LlamaWeights.layout(config).keySet();
        if (!values.keySet().equals(names)) {
            throw new IllegalArgumentException("the snapshot's parameters " + values.keySet()
                    + " are not the model's " + names);
        }
        return (name, value) -> {
            float[] v = values.get(name);
            if (v.length != value.numel()) {
                throw new IllegalArgumentException(name + " has " + value.numel()
                        + " elements in the model but " + v.length + " in the snapshot");
            }
            backend.upload(value, v);
        };
    }
}
