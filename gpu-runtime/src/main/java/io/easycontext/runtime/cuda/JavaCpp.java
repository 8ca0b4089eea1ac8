package io.easycontext.runtime.cuda;

import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.Pointer;

/** Hands JCuda's device addresses and streams to the JavaCPP bindings (cuBLAS, NCCL) by raw address. */
public final class JavaCpp {
    private JavaCpp() {
    }

    private static final class Raw extends Pointer {
        Raw(long address) {
            this.address = address;
        }
    }

    public static Pointer pointer(long address) {
        return new Raw(address);
    }

    public static Pointer pointer(DevicePtr p) {
        return new Raw(p.address());
    }

    public static CUstream_st stream(CudaStream s) {
        return new CUstream_st(new Raw(s.address()));
    }
}
