// Element types and sizes of the two kinds of rows the kernel templates (packed_kernel.h,
// rowmajor_kernel.h) handle; each kernel file's traits struct derives from one and adds its vector
// operations. Included inside the anonymous namespace of a kernel file (no ISA-specific code here).
#ifndef LATENT_CPU_KERNEL_TRAITS_H
#define LATENT_CPU_KERNEL_TRAITS_H

/// Float32 rows and queries: a step is one component; rows have d of them.
struct FloatRows {
    using Query = float;
    using Panel = float;
    using Row = float;
    using Out = float;
    using Len = int;
    static constexpr int kQueryStep = 1;
    static int64_t steps(int d) { return d; }
    static int64_t row_len(int d) { return d; }
};

/// 8-bit codes (unsigned) and quantised queries (signed): a step is a 4-byte group, 4 byte products per
/// lane summed in int32; rows have `stride` bytes (a multiple of 4, zero past d). Self is the deriving
/// traits struct, whose sum1 gives sum4 here.
template <class Self>
struct CodeRows {
    using Query = int8_t;
    using Panel = uint8_t;
    using Row = uint8_t;
    using Out = int32_t;
    using Len = int64_t;
    static constexpr int kQueryStep = 4;
    static int64_t steps(int64_t stride) { return stride / 4; }
    static int64_t row_len(int64_t stride) { return stride; }
    template <class Vec>
    static void sum4(int32_t *out, Vec a0, Vec a1, Vec a2, Vec a3) {
        out[0] = Self::sum1(a0);
        out[1] = Self::sum1(a1);
        out[2] = Self::sum1(a2);
        out[3] = Self::sum1(a3);
    }
};

#endif
