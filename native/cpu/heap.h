// Bounded per-query heaps of the top-k searches. Ties go to the lower row index.
#ifndef LATENT_CPU_HEAP_H
#define LATENT_CPU_HEAP_H

#include <stdint.h>

#include <limits>

#pragma GCC visibility push(hidden)

namespace latent_cpu {

/// A candidate in a bounded heap. key is the score made "higher is nearer" (-L2), so one
/// comparison serves all metrics; negation is exact, so ties stay ties.
struct Entry {
    float key;
    int64_t id;
};

/// a strictly worse than b: lower key, or equal key and higher row index.
inline bool worse(const Entry &a, const Entry &b) {
    return a.key < b.key || (a.key == b.key && a.id > b.id);
}

/// a strictly better than b: the sort order of results, best first.
inline bool better(const Entry &a, const Entry &b) { return worse(b, a); }

/// Bounded heap of the k best entries seen; the root is the worst kept entry.
struct TopK {
    Entry *h;
    int k;
    int n = 0;

    /// Key a new candidate must beat strictly (rows arrive in ascending order, so an equal key
    /// always belongs to a higher row index and loses the tie).
    float threshold() const {
        return n < k ? -std::numeric_limits<float>::infinity() : h[0].key;
    }

    void push(float key, int64_t id) {
        Entry e{key, id};
        if (n < k) {
            int i = n++;
            while (i > 0) {  // sift up: the parent must not be better than the child
                int p = (i - 1) / 2;
                if (!worse(e, h[p])) break;
                h[i] = h[p];
                i = p;
            }
            h[i] = e;
            return;
        }
        if (!worse(h[0], e)) return;
        int i = 0;
        for (;;) {  // sift down from the root
            int c = 2 * i + 1;
            if (c >= n) break;
            if (c + 1 < n && worse(h[c + 1], h[c])) c++;
            if (!worse(h[c], e)) break;
            h[i] = h[c];
            i = c;
        }
        h[i] = e;
    }
};

}  // namespace latent_cpu

#pragma GCC visibility pop

#endif
