package io.easycontext.runtime.cuda;

import org.bytedeco.cuda.cudart.CUtensorMap;
import org.bytedeco.cuda.global.cudart;

/**
 * Descriptors through which the Hopper kernels' tensor memory accelerator loads tiles (a driver
 * {@code CUtensorMap}, 128 bytes), encoded by the driver and handed to a kernel by value as 16 longs.
 */
public final class TensorMaps {
    private static final int LONGS = 16;

    private TensorMaps() {
    }

    /**
     * A bf16 tensor laid out [batch, rows, heads, d], read in boxes of 64 columns × {@code boxRows} rows of one
     * head into 128-byte-swizzled shared memory; rows past the end read as zeros.
     */
    public static long[] rowsOfOneHead(DevicePtr data, int batch, int rows, int heads, int d, int boxRows) {
        long[] dims = {d, heads, rows, batch};
        long[] strides = {2L * d, 2L * heads * d, 2L * rows * heads * d};
        int[] box = {64, 1, boxRows, 1};
        int[] elementStrides = {1, 1, 1, 1};
        try (CUtensorMap map = new CUtensorMap()) {
            int status = cudart.cuTensorMapEncodeTiled(map, cudart.CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 4,
                    JavaCpp.pointer(data), dims, strides, box, elementStrides, cudart.CU_TENSOR_MAP_INTERLEAVE_NONE,
                    cudart.CU_TENSOR_MAP_SWIZZLE_128B, cudart.CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                    cudart.CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
            if (status != 0) {
                throw new CudaException("cuTensorMapEncodeTiled failed (CUresult " + status + ") for a [" + batch + ", "
                        + rows + ", " + heads + ", " + d + "] bf16 tensor at " + data + " in boxes of " + boxRows
                        + " rows", null);
            }
            long[] bytes = new long[LONGS];
            for (int i = 0; i < LONGS; i++) {
                bytes[i] = map.opaque(i);
            }
            return bytes;
        }
    }
}
