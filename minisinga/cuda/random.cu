/* random.cu -- the CUDA twins of minisinga/c/random.c.  Typed (f32, f64).
 *
 * Thread i draws element i from Philox block (offset + i) under the key
 * seed, exactly as the C loop does, so a GPU and the CPU given the same seed
 * and offset produce the same numbers.  To make them bit-identical the
 * arithmetic is spelled out: ms_add / ms_mul where C rounds each operation
 * (round-to-nearest, never fused), and fma / fmaf where C computes
 * a*b + c as one fused multiply-add (random.c spells those out too, so no
 * build's contraction settings change them).  Uniform and
 * Bernoulli numbers are then bit-identical to the CPU's; Gaussian ones go
 * through log and cos, whose CUDA versions may differ from glibc's in the
 * last bit, so they agree to a few units in the last place. */
#include "ms_cuda.h"

/* A uniform double in [0, 1) with 53 random bits from two words (exact). */
__device__ inline double ms_u01_53(uint32_t a, uint32_t b)
{
    uint64_t bits = ((uint64_t)(a >> 5) << 26) | (uint64_t)(b >> 6);
    return (double)bits * (1.0 / 9007199254740992.0); /* 2^-53 */
}
/* A uniform float in [0, 1) with 24 random bits (exact). */
__device__ inline float ms_u01_24(uint32_t a)
{
    return (float)(a >> 8) * (1.0f / 16777216.0f); /* 2^-24 */
}

/* y[i] = low + (high - low) * u_i   (one fused multiply-add, as in C) */
__global__ void FN(random_uniform_kernel)(T *y, int64_t n, T low, T high, uint64_t seed,
                                          uint64_t offset)
{
    MS_FOR_EACH(i, n) {
        uint32_t w[4];
        ms_philox4x32_device(w, offset + (uint64_t)i, seed);
        T u = (sizeof(T) == 4) ? (T)ms_u01_24(w[0]) : (T)ms_u01_53(w[0], w[1]);
        y[i] = (sizeof(T) == 4) ? (T)fmaf((float)ms_sub(high, low), (float)u, (float)low)
                                : (T)fma((double)ms_sub(high, low), (double)u, (double)low);
    }
}

extern "C" void FN(random_uniform)(T *y, int64_t n, T low, T high, uint64_t seed, uint64_t offset)
{
    if (n > 0)
        MS_LAUNCH(FN(random_uniform_kernel), ms_blocks(n), MS_THREADS,
                  y, n, low, high, seed, offset);
}

/* Box-Muller in double: z = sqrt(-2 ln u1) cos(2 pi u2), u1 in (0, 1] */
__global__ void FN(random_gaussian_kernel)(T *y, int64_t n, T mean, T std, uint64_t seed,
                                           uint64_t offset)
{
    MS_FOR_EACH(i, n) {
        uint32_t w[4];
        ms_philox4x32_device(w, offset + (uint64_t)i, seed);
        double u1 = 1.0 - ms_u01_53(w[0], w[1]); /* (0, 1], exact */
        double u2 = ms_u01_53(w[2], w[3]);
        double z = ms_mul(sqrt(-2.0 * log(u1)), cos(ms_mul(6.283185307179586, u2)));
        y[i] = (T)fma((double)std, z, (double)mean);
    }
}

extern "C" void FN(random_gaussian)(T *y, int64_t n, T mean, T std, uint64_t seed, uint64_t offset)
{
    if (n > 0)
        MS_LAUNCH(FN(random_gaussian_kernel), ms_blocks(n), MS_THREADS,
                  y, n, mean, std, seed, offset);
}

/* y[i] = 1 if u_i < p else 0 */
__global__ void FN(random_bernoulli_kernel)(T *y, int64_t n, T p, uint64_t seed,
                                            uint64_t offset)
{
    MS_FOR_EACH(i, n) {
        uint32_t w[4];
        ms_philox4x32_device(w, offset + (uint64_t)i, seed);
        double u = ms_u01_53(w[0], w[1]);
        y[i] = (u < (double)p) ? (T)1 : (T)0;
    }
}

extern "C" void FN(random_bernoulli)(T *y, int64_t n, T p, uint64_t seed, uint64_t offset)
{
    if (n > 0)
        MS_LAUNCH(FN(random_bernoulli_kernel), ms_blocks(n), MS_THREADS, y, n, p, seed, offset);
}
