/* pointwise.h -- every pointwise formula, written once, for both backends.
 *
 * `relu_forward_one(x)` is relu_forward for ONE element.  The C kernel
 * (minisinga/c/activation.c) runs it in a loop over n elements; its CUDA twin
 * (minisinga/cuda/activation.cu) runs it in one thread per element.  Both
 * include this header, so the two backends cannot drift apart: a formula
 * changed here changes both, and tests/test_twin.py checks that they give the
 * same bits on NaN, +-inf, +-0 and denormals.
 *
 * Names: <kernel>_one for a kernel with one output; a kernel with two outputs
 * (div_backward: da and db) has one function per output (div_backward_da_one).
 * Like a typed kernel file, this header is read once per element type T (it is
 * included by a kernel file, after T is defined); the maths of the transcendental
 * functions is done in double and rounded once to T.
 *
 * MS_HD makes a function callable from the host and from a GPU kernel under
 * nvcc (__host__ __device__); in C it is empty.
 *
 * No fused multiply-add here: the C build lets GCC fuse a*b + c into one FMA
 * instruction (-ffp-contract=fast, for the GEMM), which rounds once instead of
 * twice, so `alpha * x + beta` would give other bits than the emulated GPU
 * (built with -ffp-contract=off).  In a file that includes this header the
 * pragma below turns the fusing off.  Pointwise loops are limited by memory,
 * not arithmetic, so this costs them nothing measurable.  (nvcc fuses on a
 * real GPU, whose libm rounds its own way anyway: there the twins agree to
 * rounding, tests/test_cuda.py.) */
#ifndef MS_POINTWISE_H
#define MS_POINTWISE_H

#include <math.h>

#if defined(__CUDACC__)
#define MS_HD __host__ __device__
#else
#define MS_HD
#endif

#if !defined(__CUDACC__) && !defined(MS_CUDA_EMULATE)
#if defined(__clang__)
/* NOTE: clang honours this under -ffp-contract=on or =fast-honor-pragmas, not
 * under the build's =fast; the build (and CI) compile with GCC. */
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#endif

/* ================================================================ elementwise */

/* y = a + b */
MS_HD static inline T add_forward_one(T a, T b) { return a + b; }

/* y = a - b */
MS_HD static inline T sub_forward_one(T a, T b) { return a - b; }

/* y = a * b   (also the backward of mul: da = dy * b, db = dy * a) */
MS_HD static inline T mul_forward_one(T a, T b) { return a * b; }

/* y = a / b */
MS_HD static inline T div_forward_one(T a, T b) { return a / b; }

/* da = dy / b ;  db = -dy * a / b^2 */
MS_HD static inline T div_backward_da_one(T dy, T b)
{
    T inv = (T)1 / b;
    return dy * inv;
}
MS_HD static inline T div_backward_db_one(T dy, T a, T b)
{
    T inv = (T)1 / b;
    return -dy * a * inv * inv;
}

/* y = a ^ b */
MS_HD static inline T pow_forward_one(T a, T b) { return (T)pow((double)a, (double)b); }

/* da = dy * b * a^(b-1) ;  db = dy * y * ln(a)   (y = a^b saved)
 * Convention: db = 0 where a == 0 (the limit of y ln a as a -> 0+ for b > 0). */
MS_HD static inline T pow_backward_da_one(T dy, T a, T b)
{
    return dy * b * (T)pow((double)a, (double)b - 1.0);
}
MS_HD static inline T pow_backward_db_one(T dy, T a, T y)
{
    return (a == (T)0) ? (T)0 : dy * y * (T)log((double)a);
}

/* y = alpha * x + beta   (scaling, shifting, negation: alpha = -1, beta = 0) */
MS_HD static inline T affine_forward_one(T x, T alpha, T beta) { return alpha * x + beta; }

/* y + alpha * x   (axpy: y += alpha * x, gradient accumulation, the SGD step) */
MS_HD static inline T axpy_one(T y, T x, T alpha) { return y + alpha * x; }

/* y = 1 / x */
MS_HD static inline T reciprocal_forward_one(T x) { return (T)1 / x; }

/* dx = -dy * y^2   (y = 1/x saved) */
MS_HD static inline T reciprocal_backward_one(T dy, T y) { return -dy * y * y; }

/* y = |x| */
MS_HD static inline T abs_forward_one(T x) { return x < 0 ? -x : x; }

/* dx = dy * sign(x), with sign(0) = 0 */
MS_HD static inline T abs_backward_one(T dy, T x)
{
    return x > 0 ? dy : (x < 0 ? -dy : (T)0);
}

/* y = e^x   (backward: dx = dy * y, the mul kernel) */
MS_HD static inline T exp_forward_one(T x) { return (T)exp((double)x); }

/* y = ln x   (backward: dx = dy / x, the div kernel) */
MS_HD static inline T log_forward_one(T x) { return (T)log((double)x); }

/* y = sqrt(x) */
MS_HD static inline T sqrt_forward_one(T x) { return (T)sqrt((double)x); }

/* dx = dy / (2 y)   (y = sqrt(x) saved) */
MS_HD static inline T sqrt_backward_one(T dy, T y) { return dy / ((T)2 * y); }

/* y = min(max(x, lo), hi) */
MS_HD static inline T clip_forward_one(T x, T lo, T hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* dx = dy where lo <= x <= hi, else 0 (the boundaries pass the gradient) */
MS_HD static inline T clip_backward_one(T dy, T x, T lo, T hi)
{
    return (x >= lo && x <= hi) ? dy : (T)0;
}

/* y = x * mask * scale, mask[i] in {0, 1} drawn by random_bernoulli;
 * also the backward: dx = dy * mask * scale */
MS_HD static inline T dropout_forward_one(T x, T mask, T scale) { return x * mask * scale; }

/* ================================================================= activation */

/* y = max(0, x).  NaN stays NaN, as in PyTorch (x < 0 is false for NaN), so a
 * diverged value is not silently turned into 0; relu(-0) = -0 likewise. */
MS_HD static inline T relu_forward_one(T x) { return x < 0 ? (T)0 : x; }

/* dx = dy * [x > 0]   (relu'(0) = 0) */
MS_HD static inline T relu_backward_one(T dy, T x) { return x > 0 ? dy : (T)0; }

/* y = x if x >= 0 else a * x */
MS_HD static inline T leakyrelu_forward_one(T x, T a) { return x >= 0 ? x : a * x; }

/* dx = dy if x >= 0 else a * dy   (slope 1 at x = 0) */
MS_HD static inline T leakyrelu_backward_one(T dy, T x, T a) { return x >= 0 ? dy : a * dy; }

/* y = gamma * x if x > 0 else gamma * alpha * (e^x - 1)
 * (elu is gamma = 1; selu uses alpha = 1.67326, gamma = 1.0507) */
MS_HD static inline T elu_forward_one(T x, T alpha, T gamma)
{
    return x > 0 ? gamma * x : gamma * alpha * (T)expm1((double)x);
}

/* dx = gamma * dy if x > 0 else dy * gamma * alpha * e^x   (slope at 0 from the left) */
MS_HD static inline T elu_backward_one(T dy, T x, T alpha, T gamma)
{
    return x > 0 ? gamma * dy : dy * gamma * alpha * (T)exp((double)x);
}

/* y = 1 / (1 + e^-x), written so that e^(-x) never overflows */
MS_HD static inline T sigmoid_forward_one(T x)
{
    double v = (double)x;
    if (v >= 0)
        return (T)(1.0 / (1.0 + exp(-v)));
    double e = exp(v);
    return (T)(e / (1.0 + e));
}

/* dx = dy * y * (1 - y)   (y saved) */
MS_HD static inline T sigmoid_backward_one(T dy, T y) { return dy * y * ((T)1 - y); }

/* y = max(0, min(1, alpha * x + gamma)) */
MS_HD static inline T hardsigmoid_forward_one(T x, T alpha, T gamma)
{
    T v = alpha * x + gamma;
    return v < 0 ? (T)0 : (v > 1 ? (T)1 : v);
}

/* dx = alpha * dy where 0 < alpha x + gamma < 1, else 0 (0 at both kinks) */
MS_HD static inline T hardsigmoid_backward_one(T dy, T x, T alpha, T gamma)
{
    T v = alpha * x + gamma;
    return (v > 0 && v < 1) ? alpha * dy : (T)0;
}

/* y = tanh(x) */
MS_HD static inline T tanh_forward_one(T x) { return (T)tanh((double)x); }

/* dx = dy * (1 - y^2)   (y saved) */
MS_HD static inline T tanh_backward_one(T dy, T y) { return dy * ((T)1 - y * y); }

/* y = ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|)   (no overflow for large x) */
MS_HD static inline T softplus_forward_one(T x)
{
    double v = (double)x;
    return (T)((v > 0 ? v : 0.0) + log1p(exp(-fabs(v))));
}

/* dx = dy * sigmoid(x) */
MS_HD static inline T softplus_backward_one(T dy, T x)
{
    double v = (double)x;
    double s = v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
    return (T)((double)dy * s);
}

/* y = x / (1 + |x|) */
MS_HD static inline T softsign_forward_one(T x) { return x / ((T)1 + (x < 0 ? -x : x)); }

/* dx = dy / (1 + |x|)^2 */
MS_HD static inline T softsign_backward_one(T dy, T x)
{
    T d = (T)1 + (x < 0 ? -x : x);
    return dy / (d * d);
}

/* ===================================================================== mathfn */

/* y = 1 if x > 0, -1 if x < 0, 0 if x == 0 (NaN stays NaN).
 * sign and the roundings have derivative 0 wherever it exists, so they have no
 * backward kernel: Python fills dx with zeros. */
MS_HD static inline T sign_forward_one(T x)
{
    return x > 0 ? (T)1 : (x < 0 ? (T)-1 : (x == 0 ? (T)0 : x));
}

/* y = the smallest integer >= x */
MS_HD static inline T ceil_forward_one(T x) { return (T)ceil((double)x); }

/* y = the largest integer <= x */
MS_HD static inline T floor_forward_one(T x) { return (T)floor((double)x); }

/* y = x rounded to the nearest integer, halves away from zero (C's round:
 * round(0.5) = 1, round(-2.5) = -3) */
MS_HD static inline T round_forward_one(T x) { return (T)round((double)x); }

/* y = x rounded to the nearest integer, halves to even (rounde(0.5) = 0,
 * rounde(1.5) = 2, rounde(2.5) = 2):
 *   r = floor(x), d = x - r (exact);  y = r + 1 if d > 1/2 or (d == 1/2 and r odd), else r */
MS_HD static inline T rounde_forward_one(T x)
{
    double r = floor((double)x);
    double d = (double)x - r;
    int r_is_odd = fmod(r, 2.0) != 0.0;
    return (T)((d > 0.5 || (d == 0.5 && r_is_odd)) ? r + 1.0 : r);
}

/* y = erf(x) = 2/sqrt(pi) int_0^x e^(-t^2) dt */
MS_HD static inline T erf_forward_one(T x) { return (T)erf((double)x); }

/* dx = dy * 2/sqrt(pi) * e^(-x^2)   (SINGA computes this from dy instead of x).
 * 1.128... is 2/sqrt(pi) (M_2_SQRTPI is not in strict C11). */
MS_HD static inline T erf_backward_one(T dy, T x)
{
    double v = (double)x;
    return (T)((double)dy * 1.12837916709551257390 * exp(-v * v));
}

/* n-ary max(x_0, ..., x_{K-1}) is a running maximum: y = x_0, arg = 0, then
 * one update per further input k: where x > y, y = x and arg = k.  arg records
 * which input gave y; the strict comparison keeps the FIRST input on a tie, and
 * backward sends dy there.  (NaN never replaces y, and a NaN y stays.) */
MS_HD static inline int max_update_takes_one(T x, T y) { return x > y; }

/* n-ary min, the same way: where x < y, y = x and arg = k */
MS_HD static inline int min_update_takes_one(T x, T y) { return x < y; }

/* dx_k = dy * [arg == k]   (the gradient of input k of max / min) */
MS_HD static inline T argselect_backward_one(T dy, int32_t arg, int32_t k)
{
    return arg == k ? dy : (T)0;
}

/* y = x if x >= 0 else slope * x   (slope was broadcast to x's n elements in Python) */
MS_HD static inline T prelu_forward_one(T x, T slope) { return x >= 0 ? x : slope * x; }

/* dx = dy if x >= 0 else slope * dy ;  dslope = 0 if x >= 0 else x * dy
 * (at x = 0 the x-branch is taken: slope 1, no gradient for slope) */
MS_HD static inline T prelu_backward_dx_one(T dy, T x, T slope) { return x >= 0 ? dy : slope * dy; }
MS_HD static inline T prelu_backward_dslope_one(T dy, T x) { return x >= 0 ? (T)0 : x * dy; }

/* Trigonometric and hyperbolic functions.  Each backward reads the saved input
 * x.  Outside a function's domain the C library gives NaN (IEEE), as it does
 * for log of a negative number. */

/* y = sin x */
MS_HD static inline T sin_forward_one(T x) { return (T)sin((double)x); }

/* dx = dy cos x */
MS_HD static inline T sin_backward_one(T dy, T x) { return (T)((double)dy * cos((double)x)); }

/* y = cos x */
MS_HD static inline T cos_forward_one(T x) { return (T)cos((double)x); }

/* dx = -dy sin x */
MS_HD static inline T cos_backward_one(T dy, T x) { return (T)(-(double)dy * sin((double)x)); }

/* y = tan x */
MS_HD static inline T tan_forward_one(T x) { return (T)tan((double)x); }

/* dx = dy / cos^2 x */
MS_HD static inline T tan_backward_one(T dy, T x)
{
    double c = cos((double)x);
    return (T)((double)dy / (c * c));
}

/* y = asin x,  |x| <= 1 */
MS_HD static inline T asin_forward_one(T x) { return (T)asin((double)x); }

/* dx = dy / sqrt(1 - x^2) */
MS_HD static inline T asin_backward_one(T dy, T x)
{
    double v = (double)x;
    return (T)((double)dy / sqrt(1.0 - v * v));
}

/* y = acos x,  |x| <= 1 */
MS_HD static inline T acos_forward_one(T x) { return (T)acos((double)x); }

/* dx = -dy / sqrt(1 - x^2) */
MS_HD static inline T acos_backward_one(T dy, T x)
{
    double v = (double)x;
    return (T)(-(double)dy / sqrt(1.0 - v * v));
}

/* y = atan x */
MS_HD static inline T atan_forward_one(T x) { return (T)atan((double)x); }

/* dx = dy / (1 + x^2) */
MS_HD static inline T atan_backward_one(T dy, T x)
{
    double v = (double)x;
    return (T)((double)dy / (1.0 + v * v));
}

/* y = sinh x */
MS_HD static inline T sinh_forward_one(T x) { return (T)sinh((double)x); }

/* dx = dy cosh x */
MS_HD static inline T sinh_backward_one(T dy, T x) { return (T)((double)dy * cosh((double)x)); }

/* y = cosh x */
MS_HD static inline T cosh_forward_one(T x) { return (T)cosh((double)x); }

/* dx = dy sinh x */
MS_HD static inline T cosh_backward_one(T dy, T x) { return (T)((double)dy * sinh((double)x)); }

/* y = asinh x */
MS_HD static inline T asinh_forward_one(T x) { return (T)asinh((double)x); }

/* dx = dy / sqrt(x^2 + 1) */
MS_HD static inline T asinh_backward_one(T dy, T x)
{
    double v = (double)x;
    return (T)((double)dy / sqrt(v * v + 1.0));
}

/* y = acosh x,  x >= 1 */
MS_HD static inline T acosh_forward_one(T x) { return (T)acosh((double)x); }

/* dx = dy / sqrt(x^2 - 1) */
MS_HD static inline T acosh_backward_one(T dy, T x)
{
    double v = (double)x;
    return (T)((double)dy / sqrt(v * v - 1.0));
}

/* y = atanh x,  |x| < 1 */
MS_HD static inline T atanh_forward_one(T x) { return (T)atanh((double)x); }

/* dx = dy / (1 - x^2) */
MS_HD static inline T atanh_backward_one(T dy, T x)
{
    double v = (double)x;
    return (T)((double)dy / (1.0 - v * v));
}

/* ====================================================================== logic
 * 1 for true, 0 for false, in the input's float type; a nonzero input counts
 * as true. */

/* y = [a < b] */
MS_HD static inline T less_forward_one(T a, T b) { return a < b ? (T)1 : (T)0; }

/* y = [a > b] */
MS_HD static inline T greater_forward_one(T a, T b) { return a > b ? (T)1 : (T)0; }

/* y = [a == b]   (exact comparison) */
MS_HD static inline T equal_forward_one(T a, T b) { return a == b ? (T)1 : (T)0; }

/* y = [a != 0 and b != 0] */
MS_HD static inline T and_forward_one(T a, T b) { return (a != 0 && b != 0) ? (T)1 : (T)0; }

/* y = [a != 0 or b != 0] */
MS_HD static inline T or_forward_one(T a, T b) { return (a != 0 || b != 0) ? (T)1 : (T)0; }

/* y = [(a != 0) != (b != 0)] */
MS_HD static inline T xor_forward_one(T a, T b) { return ((a != 0) != (b != 0)) ? (T)1 : (T)0; }

/* y = [x == 0] */
MS_HD static inline T not_forward_one(T x) { return x == 0 ? (T)1 : (T)0; }

/* y = a where c != 0, else b */
MS_HD static inline T where_forward_one(T c, T a, T b) { return c != 0 ? a : b; }

/* da = dy where c != 0, else 0 ;  db = dy where c == 0, else 0 */
MS_HD static inline T where_backward_da_one(T dy, T c) { return c != 0 ? dy : (T)0; }
MS_HD static inline T where_backward_db_one(T dy, T c) { return c != 0 ? (T)0 : dy; }

/* ====================================================================== casts */

/* y = (T) v for a float v.  To int32: truncate toward zero, saturate at the
 * int32 range, NaN -> 0.  A plain C cast of NaN, +-inf or anything outside the
 * range is undefined behaviour (x86 happens to give INT32_MIN, a GPU something
 * else), so the edges are spelled out. */
#if MS_IS_FLOAT
MS_HD static inline T cast_from_float_one(double v) { return (T)v; }
#else
MS_HD static inline T cast_from_float_one(double v)
{
    if (v != v)
        return 0;
    if (v >= 2147483647.0)
        return INT32_MAX;
    if (v <= -2147483648.0)
        return INT32_MIN;
    return (T)v;
}
#endif

/* ================================================================== indexing */

/* 1 when v cannot be cast to int32 (Cast refuses it): NaN, an infinity, or a
 * value at or beyond -2^31 - 1 or 2^31 (the cast truncates toward zero, so
 * -2147483648.5 still fits); with whole != 0 also a value with a fraction
 * (an index held in a float tensor, as SINGA keeps them). */
MS_HD static inline int not_int32_one(double v, int whole)
{
    if (!(v > -2147483649.0 && v < 2147483648.0))   /* NaN fails both */
        return 1;
    return whole && v != floor(v);
}

/* The source position of position i along an axis of dim elements (a slice or a
 * pad reads it), or -1 for pad's constant.  Inside [0, dim): i itself.
 * Outside, by mode: 0 (constant) -1; 1 (edge) the nearest end; 2 (reflect) the
 * mirror image without repeating the edge, as np.pad's 'reflect': period
 * 2 (dim - 1), and a single element is repeated. */
#define MS_PAD_CONSTANT 0
#define MS_PAD_EDGE 1
#define MS_PAD_REFLECT 2
MS_HD static inline int64_t pad_source_one(int64_t i, int64_t dim, int mode)
{
    if (i >= 0 && i < dim)
        return i;
    if (mode == MS_PAD_CONSTANT)
        return -1;
    if (mode == MS_PAD_EDGE || dim == 1)
        return i < 0 ? 0 : dim - 1;
    int64_t period = 2 * (dim - 1);
    int64_t m = i % period;
    if (m < 0)
        m += period;
    return m < dim ? m : period - m;
}

/* dx[i] for ONE padded axis: the sum of dy[o] (dy: ydim = begin + dim + end
 * positions, `stride` elements apart) over every o whose source
 * pad_source_one(o - begin, dim, mode) is i, in increasing o (so both backends
 * add in one order).  The preimage of i is written out, not searched for:
 *   constant: o = begin + i;
 *   edge:     a run, from 0 (i = 0) or begin + i, to ydim - 1 (i = dim - 1) or begin + i;
 *   reflect:  o - begin = i or -i modulo the period 2 (dim - 1). */
MS_HD static inline T pad_backward_one(const T *dy, int64_t stride, int64_t i, int64_t dim,
                                       int64_t ydim, int64_t begin, int mode)
{
    if (mode == MS_PAD_CONSTANT)
        return dy[(begin + i) * stride];
    T s = (T)0;
    if (mode == MS_PAD_EDGE || dim == 1) {
        int64_t lo = i == 0 ? 0 : begin + i;
        int64_t hi = i == dim - 1 ? ydim : begin + i + 1;
        for (int64_t o = lo; o < hi; o++)
            s += dy[o * stride];
        return s;
    }
    int64_t period = 2 * (dim - 1);
    int64_t r1 = (begin + i) % period, r2 = (begin + period - i) % period;
    if (r1 > r2) {
        int64_t r = r1;
        r1 = r2;
        r2 = r;
    }
    for (int64_t base = 0; base < ydim; base += period) {
        if (base + r1 < ydim)
            s += dy[(base + r1) * stride];
        if (r2 != r1 && base + r2 < ydim)
            s += dy[(base + r2) * stride];
    }
    return s;
}

#endif /* MS_POINTWISE_H */
