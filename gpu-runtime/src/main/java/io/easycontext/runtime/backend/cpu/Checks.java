package io.easycontext.runtime.backend.cpu;

import io.easycontext.runtime.tensor.DType;

import java.util.Arrays;

/** Argument checks shared by the CPU ops; a wrong shape is a caller's bug and fails before any work. */
final class Checks {

    private Checks() {
    }

    static void require(boolean condition, String format, Object... args) {
        if (!condition) {
            throw new IllegalArgumentException(String.format(format, args));
        }
    }

    /** For per-element checks in hot loops, where {@link #require}'s varargs would box on every call. */
    static void index(int value, int bound, String what) {
        if (value < 0 || value >= bound) {
            throw new IllegalArgumentException(what + " " + value + " outside [0, " + bound + ")");
        }
    }

    static void rank(CpuTensor t, int rank, String name) {
        require(t.shape().length == rank, "%s must have %d dimensions, got %s", name, rank, t);
    }

    static void shape(CpuTensor t, String name, int... shape) {
        require(Arrays.equals(t.shape(), shape), "%s must be %s, got %s", name, Arrays.toString(shape), t);
    }

    static void sameShape(CpuTensor a, CpuTensor b, String aName, String bName) {
        require(Arrays.equals(a.shape(), b.shape()), "%s %s and %s %s differ in shape", aName, a, bName, b);
    }

    static void sameSize(CpuTensor a, CpuTensor b, String aName, String bName) {
        require(a.numel() == b.numel(), "%s %s and %s %s differ in size", aName, a, bName, b);
    }

    static void floating(CpuTensor t, String name) {
        require(t.data != null, "%s must be a float tensor, got %s", name, t);
    }

    static void ints(CpuTensor t, String name) {
        require(t.dtype() == DType.I32, "%s must be I32, got %s", name, t);
    }
}
