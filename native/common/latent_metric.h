/*
 * Metric codes of the kernels, shared by the CPU (native/cpu) and CUDA (native/cuda) code and by
 * dev.latent.core.Metric#code(). These are the kernels' ABI; the index file format keeps its own
 * codes (dev.latent.space.format.IndexHeader), which happen to have the same values.
 *
 * The vector rule (dev.latent.core.Vectors), applied where norms are computed: every component
 * finite, squared norm (summed in float64) at most FLT_MAX, and under cosine at least FLT_MIN.
 */
#ifndef LATENT_METRIC_H
#define LATENT_METRIC_H

#define LATENT_METRIC_INNER_PRODUCT 0 /* q.x, higher is nearer */
#define LATENT_METRIC_COSINE 1        /* q.x / (|q| |x|), higher is nearer */
#define LATENT_METRIC_L2 2            /* |q - x|^2, lower is nearer */

#define LATENT_MAX_SQUARED_NORM 3.4028234663852886e38  /* FLT_MAX */
#define LATENT_MIN_COSINE_SQUARED_NORM 1.1754943508222875e-38  /* FLT_MIN, the smallest normal float */

#endif
