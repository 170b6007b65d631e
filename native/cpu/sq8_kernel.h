// Packing of 8-bit codes for the packed path (packed_kernel.h with the integer traits S). Included inside
// the anonymous namespace of a kernel file after its float traits V (whose transposes move the 4-byte
// groups: they only move bits) and S. The dot products themselves come from packed_kernel.h and
// rowmajor_kernel.h; integer sums are exact, so every path and tile shape gives the same S for a query
// and a row.

/// Packs nx rows of `stride` bytes (a multiple of 4) into panels of S::kLanes rows (layout in kernels.h):
/// kLanes x kLanes blocks of 4-byte groups go through the float transpose of V, which only moves bits.
template <class S>
void sq8_pack(const uint8_t *const *x, int nx, int64_t stride, uint8_t *panel) {
    constexpr int L = S::kLanes;
    static_assert(L == V::kLanes, "one 4-byte group per float lane");
    const int64_t groups = stride / 4;
    for (int p0 = 0; p0 < nx; p0 += L) {
        uint8_t *dst = panel + static_cast<int64_t>(p0) * stride;
        const int n = nx - p0 < L ? nx - p0 : L;
        int64_t g = 0;
        if (n == L) {
            const float *rows[L];
            for (int l = 0; l < L; l++) rows[l] = reinterpret_cast<const float *>(x[p0 + l]);
            for (; g + L <= groups; g += L) {
                V::transpose(rows, static_cast<int>(g), reinterpret_cast<float *>(dst + g * 4 * L));
            }
        }
        for (; g < groups; g++) {
            for (int l = 0; l < L; l++) {
                uint8_t *o = dst + (g * L + l) * 4;
                for (int b = 0; b < 4; b++) o[b] = l < n ? x[p0 + l][g * 4 + b] : 0;
            }
        }
    }
}
