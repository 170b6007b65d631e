// The row-major path (a few queries, rows read in place), written once for every vector width and for both
// kinds of rows (float32; 8-bit codes). Included inside the anonymous namespace of a kernel file after its
// traits struct K, which for this path adds to what packed_kernel.h needs:
//
//   using Row;                              element type of the rows
//   static constexpr int kRowMq, kRowNx;    queries x database rows per micro-tile (kRowMq x kRowNx accumulators)
//   static constexpr int kRowStep;          elements of a row (and of a query) per vector
//   static int64_t row_len(Len len);        elements per row
//   static Vec load(const Row *p), load(const Query *p);   (one function where the types are the same)
//   static Vec load_first(const Row *p, int n), load_first(const Query *p, int n);
//                                           elements [0, n), the rest 0, no read past p + n
//   static void pin(Vec &v);                keeps v in a register (stops GCC folding one load into 3 FMAs)
//   static void sum4(Out *out, Vec a0, Vec a1, Vec a2, Vec a3);   the four accumulators' lane sums into out[0..3]
//   static Out sum1(Vec a);                 one accumulator's lane sum, in sum4's order
//
// Float32: each accumulator holds kLanes partial sums (lane l sums t = l mod kLanes) folded by a fixed tree,
// the same for every tile shape and position, so a row scores bit-identically wherever it lands in a call.

template <class K, int MQ, int NX>
inline void row_micro(const typename K::Query *const *q, const typename K::Row *const *x, int64_t n,
                      typename K::Out *out, int64_t ldo) {
    constexpr int W = K::kRowStep;
    typename K::Vec acc[MQ][NX];
#pragma GCC unroll 8
    for (int i = 0; i < MQ; i++) {
#pragma GCC unroll 8
        for (int j = 0; j < NX; j++) acc[i][j] = K::zero();
    }
    const typename K::Query *qp[MQ];
    const typename K::Row *xp[NX];
    for (int i = 0; i < MQ; i++) qp[i] = q[i];
    for (int j = 0; j < NX; j++) xp[j] = x[j];
    int64_t t = 0;
    for (; t + W <= n; t += W) {
        typename K::Vec qv[MQ];
#pragma GCC unroll 4
        for (int i = 0; i < MQ; i++) qv[i] = K::load(qp[i] + t);
#pragma GCC unroll 8
        for (int j = 0; j < NX; j++) {
            typename K::Vec xv = K::load(xp[j] + t);
            K::pin(xv);
#pragma GCC unroll 4
            for (int i = 0; i < MQ; i++) acc[i][j] = K::madd(acc[i][j], xv, qv[i]);
        }
    }
    if (t < n) {
        const int rest = static_cast<int>(n - t);
        typename K::Vec qv[MQ];
        for (int i = 0; i < MQ; i++) qv[i] = K::load_first(qp[i] + t, rest);
        for (int j = 0; j < NX; j++) {
            typename K::Vec xv = K::load_first(xp[j] + t, rest);
            for (int i = 0; i < MQ; i++) acc[i][j] = K::madd(acc[i][j], xv, qv[i]);
        }
    }
    for (int i = 0; i < MQ; i++) {
        int j = 0;
        for (; j + 4 <= NX; j += 4) K::sum4(out + i * ldo + j, acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]);
        for (; j < NX; j++) out[i * ldo + j] = K::sum1(acc[i][j]);
    }
}

template <class K, int MQ, int NX>
inline void row_micro_nx(int nxr, const typename K::Query *const *q, const typename K::Row *const *x, int64_t n,
                         typename K::Out *out, int64_t ldo) {
    if constexpr (NX == 1) {
        row_micro<K, MQ, 1>(q, x, n, out, ldo);
    } else {
        if (nxr == NX) {
            row_micro<K, MQ, NX>(q, x, n, out, ldo);
        } else {
            row_micro_nx<K, MQ, NX - 1>(nxr, q, x, n, out, ldo);
        }
    }
}

template <class K, int MQ>
inline void row_micro_mq(int mq, int nxr, const typename K::Query *const *q, const typename K::Row *const *x,
                         int64_t n, typename K::Out *out, int64_t ldo) {
    if constexpr (MQ == 1) {
        row_micro_nx<K, 1, K::kRowNx>(nxr, q, x, n, out, ldo);
    } else {
        if (mq == MQ) {
            row_micro_nx<K, MQ, K::kRowNx>(nxr, q, x, n, out, ldo);
        } else {
            row_micro_mq<K, MQ - 1>(mq, nxr, q, x, n, out, ldo);
        }
    }
}

/// out[i * ldo + j] = q[i] . x[j], rows outer: a group of kRowNx database rows is read from L2 once and
/// stays in L1 while every query of the tile (also in L1) passes over it.
template <class K>
void row_dot_tile(const typename K::Query *const *q, int nq, const typename K::Row *const *x, int nx,
                  typename K::Len len, typename K::Out *out, int64_t ldo) {
    constexpr int NX = K::kRowNx;
    const int64_t n = K::row_len(len);
    for (int j = 0; j < nx; j += NX) {
        const int nxr = nx - j < NX ? nx - j : NX;
        for (int i = 0; i < nq; i += K::kRowMq) {
            const int mq = nq - i < K::kRowMq ? nq - i : K::kRowMq;
            row_micro_mq<K, K::kRowMq>(mq, nxr, q + i, x + j, n, out + i * ldo + j, ldo);
        }
    }
}
