// The packed outer-product path, written once for every vector width and for both kinds of rows (float32,
// and 8-bit codes in 4-byte groups). Included inside the anonymous namespace of a kernel file, after that
// file defines its traits struct K (V for float32, S for codes):
//
//   using Vec;                        the vector register type
//   using Query, Panel, Out;          element types of queries, packed panels and results
//   using Len;                        the size argument of the kernel table (d; the code stride in bytes)
//   static constexpr int kLanes;      results per vector = rows per panel
//   static constexpr int kMr;         queries per micro-tile (2 * kMr accumulators + 2 panel registers fit)
//   static constexpr int kPanelStep;  Panel elements per step: one vector, the step's share of kLanes rows
//   static constexpr int kQueryStep;  Query elements per step, broadcast to every lane
//   static int64_t steps(Len len);    steps per dot product
//   static Vec zero();
//   static Vec load(const Panel *p);  unaligned
//   static Vec bcast(const Query *p); one step of a query to every lane
//   static Vec madd(Vec acc, Vec x, Vec q);   acc + x * q lane by lane (an FMA; 4 byte products for codes)
//   static void store(Out *p, Vec v);
//   static void store_first(Out *p, Vec v, int n);   lanes [0, n), n in 1..kLanes
// and, for packed_pack and packed_sqnorm (float32 only):
//   static void transpose(const float *const *rows, int t, float *dst);
//                                     kLanes x kLanes block: rows[0..kLanes) at columns t.. into dst[c * kLanes + lane]
//
// Each file is compiled with its own -m flags and everything here has internal linkage there, so no
// instantiation can be shared with code that runs on other CPUs.
//
// Float32 panel layout: rows [kLanes * p, kLanes * p + kLanes) as panel[p * kLanes * d + t * kLanes + lane], the
// last panel padded with zeros. Every dot product is one sequential FMA chain over t from 0, kept in one
// lane; sqnorm below runs the same chain in scalar FMAs, so dot(x, x) == sqnorm(x) bit for bit. (Codes: see
// Sq8Kernels in kernels.h; integer sums are exact in any order.)

template <class V>
void packed_pack(const float *const *x, int nx, int d, float *panel) {
    constexpr int L = V::kLanes;
    for (int p0 = 0; p0 < nx; p0 += L) {
        float *dst = panel + static_cast<int64_t>(p0) * d;
        const int n = nx - p0 < L ? nx - p0 : L;
        int t = 0;
        if (n == L) {
            for (; t + L <= d; t += L) V::transpose(x + p0, t, dst + t * L);
        }
        for (; t < d; t++) {
            for (int l = 0; l < L; l++) dst[t * L + l] = l < n ? x[p0 + l][t] : 0.0f;
        }
    }
}

/// MR queries x NV panels: NV * MR accumulators; per step, NV panel loads and MR broadcasts.
template <class K, int MR, int NV>
inline void packed_micro(const typename K::Query *const *q, const typename K::Panel *panel, int64_t steps,
                         int lastRows, typename K::Out *out, int64_t ldo) {
    constexpr int L = K::kLanes;
    typename K::Vec acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[i][v] = K::zero();
    }
    const typename K::Query *qp[MR];
    for (int i = 0; i < MR; i++) qp[i] = q[i];
    const int64_t stride = steps * K::kPanelStep;
    for (int64_t t = 0; t < steps; t++) {
        typename K::Vec p[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) p[v] = K::load(panel + v * stride + t * K::kPanelStep);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            typename K::Vec b = K::bcast(qp[i] + t * K::kQueryStep);
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) acc[i][v] = K::madd(acc[i][v], p[v], b);
        }
    }
    // Fully unrolled, so the accumulators stay registers: with a plain loop here GCC kept the array in
    // memory and stored every accumulator on each step of t (seen on AVX2).
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        if (NV == 2) K::store(out + i * ldo, acc[i][0]);
        K::store_first(out + i * ldo + (NV - 1) * L, acc[i][NV - 1], lastRows);
    }
}

template <class K, int NV, int MR>
inline void packed_micro_mr(int mr, const typename K::Query *const *q, const typename K::Panel *panel, int64_t steps,
                            int lastRows, typename K::Out *out, int64_t ldo) {
    if constexpr (MR == 1) {
        packed_micro<K, 1, NV>(q, panel, steps, lastRows, out, ldo);
    } else {
        if (mr == MR) {
            packed_micro<K, MR, NV>(q, panel, steps, lastRows, out, ldo);
        } else {
            packed_micro_mr<K, NV, MR - 1>(mr, q, panel, steps, lastRows, out, ldo);
        }
    }
}

/// out[i * ldo + j] = q[i] . x[j] for the rows x packed into panels.
template <class K>
void packed_dot(const typename K::Query *const *q, int nq, const typename K::Panel *panel, int nx, typename K::Len len,
                typename K::Out *out, int64_t ldo) {
    constexpr int L = K::kLanes;
    const int np = (nx + L - 1) / L;
    const int64_t steps = K::steps(len);
    const int64_t stride = steps * K::kPanelStep;
    // Two panels outer, queries inner: the panels stream from L2 while the tile's queries stay in L1.
    for (int p = 0; p < np; p += 2) {
        const int nv = np - p < 2 ? 1 : 2;
        int lastRows = nx - (p + nv - 1) * L;
        lastRows = lastRows < L ? lastRows : L;
        const typename K::Panel *pp = panel + p * stride;
        for (int i = 0; i < nq; i += K::kMr) {
            const int mr = nq - i < K::kMr ? nq - i : K::kMr;
            typename K::Out *o = out + i * ldo + p * L;
            if (nv == 2) {
                packed_micro_mr<K, 2, K::kMr>(mr, q + i, pp, steps, lastRows, o, ldo);
            } else {
                packed_micro_mr<K, 1, K::kMr>(mr, q + i, pp, steps, lastRows, o, ldo);
            }
        }
    }
}

/// |x|^2 as the packed path sums it: one sequential FMA chain (fma(x, y) == fma(y, x) exactly).
inline float packed_sqnorm(const float *x, int d) {
    float s = 0.0f;
    for (int t = 0; t < d; t++) s = __builtin_fmaf(x[t], x[t], s);
    return s;
}
