package io.easycontext.runtime.optim.zero;

import java.util.Locale;

/** Where a sharded optimizer keeps its state, and where the update runs. */
public enum OffloadMode {
    /** Master weights and moments on the device, updated there. */
    NONE,
    /** In host memory, updated by the host's cores: gradients come down, updated parameters go up. */
    CPU,
    /** In host memory, streamed through the device in chunks, each updated there by the backend's AdamW. */
    GPU_STREAM;

    /** {@code none}, {@code cpu} or {@code gpu_stream}. */
    public static OffloadMode parse(String text) {
        for (OffloadMode m : values()) {
            if (m.flag().equals(text)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown optimizer offload '" + text + "'; known: none, cpu, gpu_stream");
    }

    /** The name flags and specs use. */
    public String flag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
