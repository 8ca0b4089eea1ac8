package io.easycontext.runtime.cuda;

import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;

/**
 * Dense bf16 tensor-core peaks (no sparsity) of data-centre GPUs, by the name the driver gives, for MFU where the
 * operator has not set one. The vendor's data-sheet figures at boost clock; variants that share a name prefix but
 * not a peak (an H100's SXM, PCIe and NVL boards) are told apart by the rest of the name. An unknown card has none:
 * a guess would make MFU look precise when it is not.
 */
public final class PeakFlops {

    private record Card(String nameContains, String unless, double denseBf16) {
    }

    // Most specific first: the first match wins.
    private static final List<Card> CARDS = List.of(
            new Card("H100 PCIE", null, 756.5e12),
            new Card("H100 NVL", null, 835.5e12),
            new Card("H100", null, 989.4e12),          // SXM5 (the driver says "H100 80GB HBM3")
            new Card("H200 NVL", null, 835.5e12),
            new Card("GH200", null, 989.4e12),
            new Card("H200", null, 989.4e12),          // SXM
            new Card("H800", "PCIE", 989.4e12),
            new Card("A100", null, 312e12),
            new Card("A800", null, 312e12),
            new Card("L40S", null, 362.1e12),
            new Card("L4", "L40", 121e12));

    private PeakFlops() {
    }

    /** One GPU's peak for the MFU of work spread over {@code gpus}: the slowest card's, where all are known. */
    public static OptionalDouble slowestOf(Collection<Integer> gpus) {
        double slowest = Double.MAX_VALUE;
        for (int gpu : gpus) {
            OptionalDouble peak = denseBf16(Cuda.device(gpu).name());
            if (peak.isEmpty()) {
                return OptionalDouble.empty();
            }
            slowest = Math.min(slowest, peak.getAsDouble());
        }
        return gpus.isEmpty() ? OptionalDouble.empty() : OptionalDouble.of(slowest);
    }

    /** The card's dense bf16 peak in FLOP/s, or empty for a card not in the table. */
    public static OptionalDouble denseBf16(String deviceName) {
        String name = deviceName.toUpperCase(Locale.ROOT);
        for (Card c : CARDS) {
            if (name.contains(c.nameContains) && (c.unless == null || !name.contains(c.unless))) {
                return OptionalDouble.of(c.denseBf16);
            }
        }
        return OptionalDouble.empty();
    }
}
