// The row-major path (a few queries, rows read in place), written once for every vector width. Included
// inside the anonymous namespace of a kernels_<isa>.cpp file after its traits struct V, which for this
// path adds to what packed_kernel.h needs:
//
//   static constexpr int kRowNx;            database rows per micro-tile (3 queries x kRowNx accumulators)
//   static Vec load_first(const float *p, int n);   lanes [0, n) from p, the rest 0, no read past p + n
//   static void pin(Vec &v);                keeps v in a register (stops GCC folding one load into 3 FMAs)
//   static __m128 sum4(Vec a0, Vec a1, Vec a2, Vec a3);   the four accumulators' lane sums
//   static float sum1(Vec a);               one accumulator's lane sum, in sum4's order
//
// Each accumulator holds kLanes partial sums (lane l sums t = l mod kLanes) folded by a fixed tree, the
// same for every tile shape and position, so a row scores bit-identically wherever it lands in a call.

constexpr int kRowMq = 3;

template <class V, int MQ, int NX>
inline void row_micro(const float *const *q, const float *const *x, int d, float *out, int64_t ldo) {
    constexpr int L = V::kLanes;
    typename V::Vec acc[MQ][NX];
#pragma GCC unroll 8
    for (int i = 0; i < MQ; i++) {
#pragma GCC unroll 8
        for (int j = 0; j < NX; j++) acc[i][j] = V::zero();
    }
    const float *qp[MQ];
    const float *xp[NX];
    for (int i = 0; i < MQ; i++) qp[i] = q[i];
    for (int j = 0; j < NX; j++) xp[j] = x[j];
    int t = 0;
    for (; t + L <= d; t += L) {
        typename V::Vec qv[MQ];
#pragma GCC unroll 4
        for (int i = 0; i < MQ; i++) qv[i] = V::load(qp[i] + t);
#pragma GCC unroll 8
        for (int j = 0; j < NX; j++) {
            typename V::Vec xv = V::load(xp[j] + t);
            V::pin(xv);
#pragma GCC unroll 4
            for (int i = 0; i < MQ; i++) acc[i][j] = V::fmadd(qv[i], xv, acc[i][j]);
        }
    }
    if (t < d) {
        typename V::Vec qv[MQ];
        for (int i = 0; i < MQ; i++) qv[i] = V::load_first(qp[i] + t, d - t);
        for (int j = 0; j < NX; j++) {
            typename V::Vec xv = V::load_first(xp[j] + t, d - t);
            for (int i = 0; i < MQ; i++) acc[i][j] = V::fmadd(qv[i], xv, acc[i][j]);
        }
    }
    for (int i = 0; i < MQ; i++) {
        int j = 0;
        for (; j + 4 <= NX; j += 4) {
            _mm_storeu_ps(out + i * ldo + j, V::sum4(acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]));
        }
        for (; j < NX; j++) out[i * ldo + j] = V::sum1(acc[i][j]);
    }
}

template <class V, int MQ, int NX>
inline void row_micro_nx(int nxr, const float *const *q, const float *const *x, int d, float *out, int64_t ldo) {
    if constexpr (NX == 1) {
        row_micro<V, MQ, 1>(q, x, d, out, ldo);
    } else {
        if (nxr == NX) {
            row_micro<V, MQ, NX>(q, x, d, out, ldo);
        } else {
            row_micro_nx<V, MQ, NX - 1>(nxr, q, x, d, out, ldo);
        }
    }
}

/// out[i * ldo + j] = q[i] . x[j], rows outer: a group of kRowNx database rows is read from L2 once and
/// stays in L1 while every query of the tile (also in L1) passes over it.
template <class V>
void row_dot_tile(const float *const *q, int nq, const float *const *x, int nx, int d, float *out, int64_t ldo) {
    constexpr int NX = V::kRowNx;
    for (int j = 0; j < nx; j += NX) {
        const int nxr = nx - j < NX ? nx - j : NX;
        for (int i = 0; i < nq; i += kRowMq) {
            const int mq = nq - i < kRowMq ? nq - i : kRowMq;
            float *o = out + i * ldo + j;
            switch (mq) {
                case 3: row_micro_nx<V, 3, NX>(nxr, q + i, x + j, d, o, ldo); break;
                case 2: row_micro_nx<V, 2, NX>(nxr, q + i, x + j, d, o, ldo); break;
                default: row_micro_nx<V, 1, NX>(nxr, q + i, x + j, d, o, ldo); break;
            }
        }
    }
}
