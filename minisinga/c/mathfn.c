/* mathfn.c -- the rest of the elementwise maths: sign and rounding, erf,
 * n-ary max / min, prelu, the trigonometric and hyperbolic functions, cosine
 * similarity, the ranking loss and reduce_max / reduce_min.  Typed (f32, f64).
 *
 * As in elementwise.c, broadcasting is decided in Python: x, y, dx, dy are
 * compact buffers of n elements unless a shape comment says otherwise.  The
 * maths is done in double and rounded once to T.  Backward kernels WRITE dx. */
#include <math.h>
#include "minisinga.h"

#define MS_PAR_MIN 32768 /* below this many elements, one thread is faster */

/* 2 / sqrt(pi), the constant of erf'(x) (M_2_SQRTPI is not in strict C11) */
#define MS_2_SQRTPI 1.12837916709551257390

/* --8<-- [start:sign_forward] */
/* ------------------------------------------------- sign and rounding
 * Their derivative is 0 wherever it exists, so they have no backward
 * kernel: Python fills dx with zeros. */

/* y = 1 if x > 0, -1 if x < 0, 0 if x == 0 (NaN stays NaN) */
void FN(sign_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] > 0 ? (T)1 : (x[i] < 0 ? (T)-1 : (x[i] == 0 ? (T)0 : x[i]));
}
/* --8<-- [end:sign_forward] */

/* --8<-- [start:ceil_forward] */
/* y = the smallest integer >= x */
void FN(ceil_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)ceil((double)x[i]);
}
/* --8<-- [end:ceil_forward] */

/* --8<-- [start:floor_forward] */
/* y = the largest integer <= x */
void FN(floor_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)floor((double)x[i]);
}
/* --8<-- [end:floor_forward] */

/* --8<-- [start:round_forward] */
/* y = x rounded to the nearest integer, halves away from zero (C's round:
 * round(0.5) = 1, round(-2.5) = -3) */
void FN(round_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)round((double)x[i]);
}
/* --8<-- [end:round_forward] */

/* --8<-- [start:rounde_forward] */
/* y = x rounded to the nearest integer, halves to even (rounde(0.5) = 0,
 * rounde(1.5) = 2, rounde(2.5) = 2):
 *   r = floor(x), d = x - r (exact);  y = r + 1 if d > 1/2 or (d == 1/2 and r odd), else r */
void FN(rounde_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        double r = floor((double)x[i]);
        double d = (double)x[i] - r;
        int r_is_odd = fmod(r, 2.0) != 0.0;
        y[i] = (T)((d > 0.5 || (d == 0.5 && r_is_odd)) ? r + 1.0 : r);
    }
}
/* --8<-- [end:rounde_forward] */

/* ------------------------------------------------------------------ erf */

/* --8<-- [start:erf_forward] */
/* y = erf(x) = 2/sqrt(pi) int_0^x e^(-t^2) dt */
void FN(erf_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)erf((double)x[i]);
}
/* --8<-- [end:erf_forward] */

/* --8<-- [start:erf_backward] */
/* dx = dy * 2/sqrt(pi) * e^(-x^2)   (SINGA computes this from dy instead of x) */
void FN(erf_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        double xi = (double)x[i];
        dx[i] = (T)((double)dy[i] * MS_2_SQRTPI * exp(-xi * xi));
    }
}
/* --8<-- [end:erf_backward] */

/* --8<-- [start:max_update] */
/* --------------------------------------------------------- n-ary max / min
 * max(x_0, ..., x_{K-1}) is a running maximum: y = x_0, arg = 0, then one
 * update per further input.  arg records which input gave y; the strict
 * comparison keeps the FIRST input on a tie, and backward sends dy there. */

/* where x > y:  y = x, arg = k   (input k of the n-ary max) */
void FN(max_update)(T *y, int32_t *arg, const T *x, int32_t k, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        if (x[i] > y[i]) {
            y[i] = x[i];
            arg[i] = k;
        }
}
/* --8<-- [end:max_update] */

/* --8<-- [start:min_update] */
/* where x < y:  y = x, arg = k   (input k of the n-ary min) */
void FN(min_update)(T *y, int32_t *arg, const T *x, int32_t k, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        if (x[i] < y[i]) {
            y[i] = x[i];
            arg[i] = k;
        }
}
/* --8<-- [end:min_update] */

/* --8<-- [start:argselect_backward] */
/* dx_k = dy * [arg == k]   (the gradient of input k of max / min) */
void FN(argselect_backward)(T *dx, const T *dy, const int32_t *arg, int32_t k, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        dx[i] = arg[i] == k ? dy[i] : (T)0;
}
/* --8<-- [end:argselect_backward] */

/* --8<-- [start:prelu_forward] */
/* ---------------------------------------------------------------- prelu
 * slope has been broadcast to x's n elements in Python. */

/* y = x if x >= 0 else slope * x */
void FN(prelu_forward)(T *y, const T *x, const T *slope, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] >= 0 ? x[i] : slope[i] * x[i];
}
/* --8<-- [end:prelu_forward] */

/* --8<-- [start:prelu_backward] */
/* dx = dy if x >= 0 else slope * dy ;  dslope = 0 if x >= 0 else x * dy
 * (at x = 0 the x-branch is taken: slope 1, no gradient for slope) */
void FN(prelu_backward)(T *dx, T *dslope, const T *dy, const T *x, const T *slope,
                        int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        int pass = x[i] >= 0;
        dx[i] = pass ? dy[i] : slope[i] * dy[i];
        dslope[i] = pass ? (T)0 : x[i] * dy[i];
    }
}
/* --8<-- [end:prelu_backward] */

/* ------------------------------------------------ trigonometric functions
 * Each backward reads the saved input x.  Outside a function's domain the
 * C library gives NaN (IEEE), as it does for log of a negative number. */

/* --8<-- [start:sin_forward] */
/* y = sin x */
void FN(sin_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)sin((double)x[i]);
}
/* --8<-- [end:sin_forward] */

/* --8<-- [start:sin_backward] */
/* dx = dy cos x */
void FN(sin_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        dx[i] = (T)((double)dy[i] * cos((double)x[i]));
}
/* --8<-- [end:sin_backward] */

/* --8<-- [start:cos_forward] */
/* y = cos x */
void FN(cos_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)cos((double)x[i]);
}
/* --8<-- [end:cos_forward] */

/* --8<-- [start:cos_backward] */
/* dx = -dy sin x */
void FN(cos_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        dx[i] = (T)(-(double)dy[i] * sin((double)x[i]));
}
/* --8<-- [end:cos_backward] */

/* --8<-- [start:tan_forward] */
/* y = tan x */
void FN(tan_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)tan((double)x[i]);
}
/* --8<-- [end:tan_forward] */

/* --8<-- [start:tan_backward] */
/* dx = dy / cos^2 x */
void FN(tan_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        double c = cos((double)x[i]);
        dx[i] = (T)((double)dy[i] / (c * c));
    }
}
/* --8<-- [end:tan_backward] */

/* --8<-- [start:asin_forward] */
/* y = asin x,  |x| <= 1 */
void FN(asin_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)asin((double)x[i]);
}
/* --8<-- [end:asin_forward] */

/* --8<-- [start:asin_backward] */
/* dx = dy / sqrt(1 - x^2) */
void FN(asin_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        double xi = (double)x[i];
        dx[i] = (T)((double)dy[i] / sqrt(1.0 - xi * xi));
    }
}
/* --8<-- [end:asin_backward] */

/* --8<-- [start:acos_forward] */
/* y = acos x,  |x| <= 1 */
void FN(acos_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)acos((double)x[i]);
}
/* --8<-- [end:acos_forward] */

/* --8<-- [start:acos_backward] */
/* dx = -dy / sqrt(1 - x^2) */
void FN(acos_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        double xi = (double)x[i];
        dx[i] = (T)(-(double)dy[i] / sqrt(1.0 - xi * xi));
    }
}
/* --8<-- [end:acos_backward] */

/* --8<-- [start:atan_forward] */
/* y = atan x */
void FN(atan_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)atan((double)x[i]);
}
/* --8<-- [end:atan_forward] */

/* --8<-- [start:atan_backward] */
/* dx = dy / (1 + x^2) */
void FN(atan_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        double xi = (double)x[i];
        dx[i] = (T)((double)dy[i] / (1.0 + xi * xi));
    }
}
/* --8<-- [end:atan_backward] */

/* --------------------------------------------------- hyperbolic functions */

/* --8<-- [start:sinh_forward] */
/* y = sinh x */
void FN(sinh_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)sinh((double)x[i]);
}
/* --8<-- [end:sinh_forward] */

/* --8<-- [start:sinh_backward] */
/* dx = dy cosh x */
void FN(sinh_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        dx[i] = (T)((double)dy[i] * cosh((double)x[i]));
}
/* --8<-- [end:sinh_backward] */

/* --8<-- [start:cosh_forward] */
/* y = cosh x */
void FN(cosh_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)cosh((double)x[i]);
}
/* --8<-- [end:cosh_forward] */

/* --8<-- [start:cosh_backward] */
/* dx = dy sinh x */
void FN(cosh_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        dx[i] = (T)((double)dy[i] * sinh((double)x[i]));
}
/* --8<-- [end:cosh_backward] */

/* --8<-- [start:asinh_forward] */
/* y = asinh x */
void FN(asinh_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)asinh((double)x[i]);
}
/* --8<-- [end:asinh_forward] */

/* --8<-- [start:asinh_backward] */
/* dx = dy / sqrt(x^2 + 1) */
void FN(asinh_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        double xi = (double)x[i];
        dx[i] = (T)((double)dy[i] / sqrt(xi * xi + 1.0));
    }
}
/* --8<-- [end:asinh_backward] */

/* --8<-- [start:acosh_forward] */
/* y = acosh x,  x >= 1 */
void FN(acosh_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)acosh((double)x[i]);
}
/* --8<-- [end:acosh_forward] */

/* --8<-- [start:acosh_backward] */
/* dx = dy / sqrt(x^2 - 1) */
void FN(acosh_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        double xi = (double)x[i];
        dx[i] = (T)((double)dy[i] / sqrt(xi * xi - 1.0));
    }
}
/* --8<-- [end:acosh_backward] */

/* --8<-- [start:atanh_forward] */
/* y = atanh x,  |x| < 1 */
void FN(atanh_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)atanh((double)x[i]);
}
/* --8<-- [end:atanh_forward] */

/* --8<-- [start:atanh_backward] */
/* dx = dy / (1 - x^2) */
void FN(atanh_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        double xi = (double)x[i];
        dx[i] = (T)((double)dy[i] / (1.0 - xi * xi));
    }
}
/* --8<-- [end:atanh_backward] */

/* ---------------------------------------------------- cosine similarity */

/* --8<-- [start:cossim_forward] */
/* a, b: (N, D);  y, na, nb: (N,)
 *   na[r] = |a_r|,  nb[r] = |b_r|,  y[r] = (a_r . b_r) / (na[r] nb[r])
 * Convention: a row with na nb == 0 gives y = 0.  Sums in double. */
void FN(cossim_forward)(T *y, T *na, T *nb, const T *a, const T *b, int64_t N, int64_t D)
{
#pragma omp parallel for if (N * D > MS_PAR_MIN)
    for (int64_t r = 0; r < N; r++) {
        const T *ar = a + r * D, *br = b + r * D;
        double ab = 0.0, aa = 0.0, bb = 0.0;
        for (int64_t j = 0; j < D; j++) {
            ab += (double)ar[j] * (double)br[j];
            aa += (double)ar[j] * (double)ar[j];
            bb += (double)br[j] * (double)br[j];
        }
        double den = sqrt(aa) * sqrt(bb);
        na[r] = (T)sqrt(aa);
        nb[r] = (T)sqrt(bb);
        y[r] = den > 0.0 ? (T)(ab / den) : (T)0;
    }
}
/* --8<-- [end:cossim_forward] */

/* --8<-- [start:cossim_backward] */
/* dy, y, na, nb: (N,);  da, db, a, b: (N, D)
 *   da_r = dy_r (b_r / (na nb) - y_r a_r / na^2)     term 1: the dot product, term 2: |a|
 *   db_r = dy_r (a_r / (na nb) - y_r b_r / nb^2)
 * (0 for a row with na nb == 0, the forward's convention) */
void FN(cossim_backward)(T *da, T *db, const T *dy, const T *y, const T *na, const T *nb,
                         const T *a, const T *b, int64_t N, int64_t D)
{
#pragma omp parallel for if (N * D > MS_PAR_MIN)
    for (int64_t r = 0; r < N; r++) {
        const T *ar = a + r * D, *br = b + r * D;
        T *dar = da + r * D, *dbr = db + r * D;
        double A = (double)na[r], B = (double)nb[r];
        if (A * B == 0.0) {
            for (int64_t j = 0; j < D; j++)
                dar[j] = dbr[j] = (T)0;
            continue;
        }
        double g = (double)dy[r], yr = (double)y[r];
        for (int64_t j = 0; j < D; j++) {
            dar[j] = (T)(g * ((double)br[j] / (A * B) - yr * (double)ar[j] / (A * A)));
            dbr[j] = (T)(g * ((double)ar[j] / (A * B) - yr * (double)br[j] / (B * B)));
        }
    }
}
/* --8<-- [end:cossim_backward] */

/* ---------------------------------------------------------- ranking loss */

/* --8<-- [start:ranking_loss_forward] */
/* pos, neg: n elements; N = the batch size (pos.shape[0]); loss: 1 element
 *   loss = 1/N sum_i max(0, M - pos_i + neg_i)   (summed in double) */
void FN(ranking_loss_forward)(T *loss, const T *pos, const T *neg, T M, int64_t n, int64_t N)
{
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double h = (double)M - (double)pos[i] + (double)neg[i];
        total += h > 0.0 ? h : 0.0;
    }
    loss[0] = (T)(total / (double)N);
}
/* --8<-- [end:ranking_loss_forward] */

/* --8<-- [start:ranking_loss_backward] */
/* h_i = [M - pos_i + neg_i > 0]  (0 at the hinge itself)
 *   dpos_i = -dy h_i / N ;  dneg_i = dy h_i / N */
void FN(ranking_loss_backward)(T *dpos, T *dneg, T dy, const T *pos, const T *neg, T M,
                               int64_t n, int64_t N)
{
    double g = (double)dy / (double)N;
    for (int64_t i = 0; i < n; i++) {
        int active = (double)M - (double)pos[i] + (double)neg[i] > 0.0;
        dpos[i] = active ? (T)(-g) : (T)0;
        dneg[i] = active ? (T)g : (T)0;
    }
}
/* --8<-- [end:ranking_loss_backward] */

/* --8<-- [start:reduce_max_forward] */
/* ---------------------------------------------------- reduce_max / reduce_min
 * x: (outer, mid, inner), mid >= 1;  y, arg: (outer, inner).
 * arg[o, i] is the position m of the FIRST maximum (minimum) of x[o, :, i]:
 * the strict comparison keeps the earliest on a tie, and backward sends dy
 * there alone. */

/* y[o, i] = max_m x[o, m, i],  arg[o, i] = the first m attaining it */
void FN(reduce_max_forward)(T *y, int32_t *arg, const T *x, int64_t outer, int64_t mid,
                            int64_t inner)
{
#pragma omp parallel for if (outer * mid * inner > MS_PAR_MIN)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const T *xs = x + o * mid * inner + i;
            T best = xs[0];
            int32_t at = 0;
            for (int64_t m = 1; m < mid; m++)
                if (xs[m * inner] > best) {
                    best = xs[m * inner];
                    at = (int32_t)m;
                }
            y[o * inner + i] = best;
            arg[o * inner + i] = at;
        }
}
/* --8<-- [end:reduce_max_forward] */

/* --8<-- [start:reduce_min_forward] */
/* y[o, i] = min_m x[o, m, i],  arg[o, i] = the first m attaining it */
void FN(reduce_min_forward)(T *y, int32_t *arg, const T *x, int64_t outer, int64_t mid,
                            int64_t inner)
{
#pragma omp parallel for if (outer * mid * inner > MS_PAR_MIN)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const T *xs = x + o * mid * inner + i;
            T best = xs[0];
            int32_t at = 0;
            for (int64_t m = 1; m < mid; m++)
                if (xs[m * inner] < best) {
                    best = xs[m * inner];
                    at = (int32_t)m;
                }
            y[o * inner + i] = best;
            arg[o * inner + i] = at;
        }
}
/* --8<-- [end:reduce_min_forward] */

/* --8<-- [start:reduce_arg_backward] */
/* dx[o, m, i] = dy[o, i] if m == arg[o, i] else 0   (backward of both) */
void FN(reduce_arg_backward)(T *dx, const T *dy, const int32_t *arg, int64_t outer,
                             int64_t mid, int64_t inner)
{
#pragma omp parallel for if (outer * mid * inner > MS_PAR_MIN)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t m = 0; m < mid; m++)
            for (int64_t i = 0; i < inner; i++)
                dx[(o * mid + m) * inner + i] =
                    arg[o * inner + i] == m ? dy[o * inner + i] : (T)0;
}
/* --8<-- [end:reduce_arg_backward] */
