/* random.c -- uniform, Gaussian and Bernoulli fills from Philox4x32-10.
 * Typed (f32, f64).  Element i always comes from counter block offset + i,
 * so results do not depend on threads, and the CUDA kernels can reproduce
 * them exactly. */
#include <math.h>
#include "minisinga.h"
#include "ms_parallel.h"

/* A uniform double in [0, 1) with 53 random bits from two words. */
static inline double ms_u01_53(uint32_t a, uint32_t b)
{
    uint64_t bits = ((uint64_t)(a >> 5) << 26) | (uint64_t)(b >> 6);
    return (double)bits * (1.0 / 9007199254740992.0); /* 2^-53 */
}
/* A uniform float in [0, 1) with 24 random bits. */
static inline float ms_u01_24(uint32_t a)
{
    return (float)(a >> 8) * (1.0f / 16777216.0f); /* 2^-24 */
}

/* y[i] = low + (high - low) * u_i   (one fused multiply-add) */
void FN(random_uniform)(T *y, int64_t n, T low, T high, uint64_t seed,
                        uint64_t offset)
{
    MS_PARALLEL_FOR(i, n, {
        uint32_t w[4];
        ms_philox4x32(w, offset + (uint64_t)i, seed);
        T u = (sizeof(T) == 4) ? (T)ms_u01_24(w[0]) : (T)ms_u01_53(w[0], w[1]);
        /* NOTE: one fused multiply-add, spelled out: the build lets the
         * compiler contract a*b + c (-ffp-contract=fast) only where the CPU
         * has FMA (-march=native), so the plain expression gave other numbers
         * on other builds.  fma rounds once everywhere; so does the CUDA twin. */
        y[i] = (sizeof(T) == 4) ? (T)fmaf((float)(high - low), (float)u, (float)low)
                                : (T)fma((double)(high - low), (double)u, (double)low);
    });
}

/* Box-Muller: z = sqrt(-2 ln u1) cos(2 pi u2), with u1 in (0, 1] so that
 * the logarithm is finite.  Computed in double for both element types. */
void FN(random_gaussian)(T *y, int64_t n, T mean, T std, uint64_t seed,
                         uint64_t offset)
{
    MS_PARALLEL_FOR(i, n, {
        uint32_t w[4];
        ms_philox4x32(w, offset + (uint64_t)i, seed);
        double u1 = 1.0 - ms_u01_53(w[0], w[1]); /* (0, 1] */
        double u2 = ms_u01_53(w[2], w[3]);
        double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
        y[i] = (T)fma((double)std, z, (double)mean); /* rounded once: see random_uniform */
    });
}

/* y[i] = 1 if u_i < p else 0 */
void FN(random_bernoulli)(T *y, int64_t n, T p, uint64_t seed, uint64_t offset)
{
    MS_PARALLEL_FOR(i, n, {
        uint32_t w[4];
        ms_philox4x32(w, offset + (uint64_t)i, seed);
        double u = ms_u01_53(w[0], w[1]);
        y[i] = (u < (double)p) ? (T)1 : (T)0;
    });
}
