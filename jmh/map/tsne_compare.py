#!/usr/bin/python3
"""t-SNE side of umap-vs-tsne.sh: scikit-learn's TSNE with its default parameters on the same vectors, and
scikit-learn's trustworthiness of both layouts (ours read from an .npy written by dev.latent.bench.UmapBench).

    tsne_compare.py VECTORS.npy UMAP_LAYOUT.npy [K] [SEED]

Prints one line per layout: "tsne: ..." (with its fit time) and "trustworthiness: ..." for both. Embeds
nothing and lays out nothing but t-SNE. The trustworthiness uses scikit-learn's default Euclidean metric on
the vectors; on unit vectors (the sentence embeddings) its ranks are those of the cosine distance our UMAP
uses.
"""
import sys
import time

import numpy as np
import sklearn
from sklearn.manifold import TSNE, trustworthiness


def main():
    vectors, layout = sys.argv[1], sys.argv[2]
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 42
    x = np.load(vectors).astype(np.float32)
    ours = np.load(layout)
    if ours.shape[0] != x.shape[0]:
        sys.exit(f"tsne_compare: the layout has {ours.shape[0]} rows, the vectors {x.shape[0]}")
    norms = np.linalg.norm(x.astype(np.float64), axis=1)
    print(f"vectors: {x.shape[0]} x {x.shape[1]}, norms {norms.min():.6f}..{norms.max():.6f}; "
          f"scikit-learn {sklearn.__version__}, numpy {np.__version__}")
    tsne = TSNE(n_components=2, random_state=seed)  # defaults otherwise (perplexity 30, init 'pca', lr 'auto')
    start = time.perf_counter()
    y = tsne.fit_transform(x)
    seconds = time.perf_counter() - start
    print(f"tsne: {x.shape[0]} x {x.shape[1]} -> 2, {seconds:.3f} s (fit_transform; "
          f"perplexity {tsne.perplexity}, init {tsne.init}, learning rate {tsne.learning_rate_:.1f}, "
          f"{tsne.n_iter_ + 1} iterations, KL {tsne.kl_divergence_:.4f})")
    t_tsne = trustworthiness(x, y, n_neighbors=k)
    t_ours = trustworthiness(x, ours, n_neighbors=k)
    print(f"trustworthiness (scikit-learn, k={k}): umap {t_ours:.6f}, tsne {t_tsne:.6f}")
    print(f"tsne seconds {seconds:.3f}")


if __name__ == "__main__":
    main()
