// The packed outer-product path, written once for every vector width. Included inside the anonymous
// namespace of a kernels_<isa>.cpp file, after that file defines its traits struct V:
//
//   using Vec;                        the vector register type
//   static constexpr int kLanes;      floats per vector = rows per panel
//   static constexpr int kMr;         queries per micro-tile (2 * kMr accumulators + 2 panel registers fit)
//   static Vec zero();
//   static Vec load(const float *p);  unaligned
//   static Vec bcast(const float *p); one float to every lane
//   static Vec fmadd(Vec a, Vec b, Vec c);
//   static void store(float *p, Vec v);
//   static void store_first(float *p, Vec v, int n);   lanes [0, n), n in 1..kLanes
//   static void transpose(const float *const *rows, int t, float *dst);
//                                     kLanes x kLanes block: rows[0..kLanes) at columns t.. into dst[c * kLanes + lane]
//
// Each file is compiled with its own -m flags and everything here has internal linkage there, so no
// instantiation can be shared with code that runs on other CPUs.
//
// Panel layout: rows [kLanes * p, kLanes * p + kLanes) as panel[p * kLanes * d + t * kLanes + lane], the
// last panel padded with zeros. Every dot product is one sequential FMA chain over t from 0, kept in one
// lane; sqnorm below runs the same chain in scalar FMAs, so dot(x, x) == sqnorm(x) bit for bit.

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

/// MR queries x NV panels: NV * MR accumulators; per t, NV panel loads and MR broadcasts.
template <class V, int MR, int NV>
inline void packed_micro(const float *const *q, const float *panel, int d, int lastRows, float *out,
                         int64_t ldo) {
    constexpr int L = V::kLanes;
    typename V::Vec acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[i][v] = V::zero();
    }
    const float *qp[MR];
    for (int i = 0; i < MR; i++) qp[i] = q[i];
    const int64_t stride = static_cast<int64_t>(d) * L;
    for (int t = 0; t < d; t++) {
        typename V::Vec p[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) p[v] = V::load(panel + v * stride + t * L);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            typename V::Vec b = V::bcast(qp[i] + t);
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) acc[i][v] = V::fmadd(b, p[v], acc[i][v]);
        }
    }
    // Fully unrolled, so the accumulators stay registers: with a plain loop here GCC kept the array in
    // memory and stored every accumulator on each step of t (seen on AVX2).
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        if (NV == 2) V::store(out + i * ldo, acc[i][0]);
        V::store_first(out + i * ldo + (NV - 1) * L, acc[i][NV - 1], lastRows);
    }
}

template <class V, int NV, int MR>
inline void packed_micro_mr(int mr, const float *const *q, const float *panel, int d, int lastRows, float *out,
                            int64_t ldo) {
    if constexpr (MR == 1) {
        packed_micro<V, 1, NV>(q, panel, d, lastRows, out, ldo);
    } else {
        if (mr == MR) {
            packed_micro<V, MR, NV>(q, panel, d, lastRows, out, ldo);
        } else {
            packed_micro_mr<V, NV, MR - 1>(mr, q, panel, d, lastRows, out, ldo);
        }
    }
}

/// out[i * ldo + j] = q[i] . x[j] for the rows x packed by packed_pack.
template <class V>
void packed_dot(const float *const *q, int nq, const float *panel, int nx, int d, float *out, int64_t ldo) {
    constexpr int L = V::kLanes;
    const int np = (nx + L - 1) / L;
    const int64_t stride = static_cast<int64_t>(d) * L;
    // Two panels outer, queries inner: the panels stream from L2 while the tile's queries stay in L1.
    for (int p = 0; p < np; p += 2) {
        const int nv = np - p < 2 ? 1 : 2;
        int lastRows = nx - (p + nv - 1) * L;
        lastRows = lastRows < L ? lastRows : L;
        const float *pp = panel + p * stride;
        for (int i = 0; i < nq; i += V::kMr) {
            const int mr = nq - i < V::kMr ? nq - i : V::kMr;
            float *o = out + i * ldo + p * L;
            if (nv == 2) {
                packed_micro_mr<V, 2, V::kMr>(mr, q + i, pp, d, lastRows, o, ldo);
            } else {
                packed_micro_mr<V, 1, V::kMr>(mr, q + i, pp, d, lastRows, o, ldo);
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
