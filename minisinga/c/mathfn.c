/* mathfn.c -- the rest of the elementwise maths: sign and rounding, erf,
 * n-ary max / min, prelu, the trigonometric and hyperbolic functions, cosine
 * similarity, the ranking loss and reduce_max / reduce_min.  Typed (f32, f64).
 *
 * As in elementwise.c, broadcasting is decided in Python: x, y, dx, dy are
 * compact buffers of n elements unless a shape comment says otherwise.  The
 * maths is done in double and rounded once to T.  Backward kernels WRITE dx. */
#include <math.h>
#include "minisinga.h"
#include "ms_parallel.h"
#include "pointwise.h"


void FN(sign_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = sign_forward_one(x[i]));
}

void FN(ceil_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = ceil_forward_one(x[i]));
}

void FN(floor_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = floor_forward_one(x[i]));
}

void FN(round_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = round_forward_one(x[i]));
}

void FN(rounde_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = rounde_forward_one(x[i]));
}

/* ------------------------------------------------------------------ erf */

void FN(erf_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = erf_forward_one(x[i]));
}

void FN(erf_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = erf_backward_one(dy[i], x[i]));
}

void FN(max_update)(T *y, int32_t *arg, const T *x, int32_t k, int64_t n)
{
    MS_PARALLEL_FOR(i, n, {
        if (max_update_takes_one(x[i], y[i])) {
            y[i] = x[i];
            arg[i] = k;
        }
    });
}

void FN(min_update)(T *y, int32_t *arg, const T *x, int32_t k, int64_t n)
{
    MS_PARALLEL_FOR(i, n, {
        if (min_update_takes_one(x[i], y[i])) {
            y[i] = x[i];
            arg[i] = k;
        }
    });
}

void FN(argselect_backward)(T *dx, const T *dy, const int32_t *arg, int32_t k, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = argselect_backward_one(dy[i], arg[i], k));
}

void FN(prelu_forward)(T *y, const T *x, const T *slope, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = prelu_forward_one(x[i], slope[i]));
}

void FN(prelu_backward)(T *dx, T *dslope, const T *dy, const T *x, const T *slope, int64_t n)
{
    MS_PARALLEL_FOR(i, n, {
        dx[i] = prelu_backward_dx_one(dy[i], x[i], slope[i]);
        dslope[i] = prelu_backward_dslope_one(dy[i], x[i]);
    });
}

/* ------------------------------------------------ trigonometric functions
 * Each backward reads the saved input x.  Outside a function's domain the
 * C library gives NaN (IEEE), as it does for log of a negative number. */

void FN(sin_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = sin_forward_one(x[i]));
}

void FN(sin_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = sin_backward_one(dy[i], x[i]));
}

void FN(cos_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = cos_forward_one(x[i]));
}

void FN(cos_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = cos_backward_one(dy[i], x[i]));
}

void FN(tan_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = tan_forward_one(x[i]));
}

void FN(tan_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = tan_backward_one(dy[i], x[i]));
}

void FN(asin_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = asin_forward_one(x[i]));
}

void FN(asin_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = asin_backward_one(dy[i], x[i]));
}

void FN(acos_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = acos_forward_one(x[i]));
}

void FN(acos_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = acos_backward_one(dy[i], x[i]));
}

void FN(atan_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = atan_forward_one(x[i]));
}

void FN(atan_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = atan_backward_one(dy[i], x[i]));
}

/* --------------------------------------------------- hyperbolic functions */

void FN(sinh_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = sinh_forward_one(x[i]));
}

void FN(sinh_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = sinh_backward_one(dy[i], x[i]));
}

void FN(cosh_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = cosh_forward_one(x[i]));
}

void FN(cosh_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = cosh_backward_one(dy[i], x[i]));
}

void FN(asinh_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = asinh_forward_one(x[i]));
}

void FN(asinh_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = asinh_backward_one(dy[i], x[i]));
}

void FN(acosh_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = acosh_forward_one(x[i]));
}

void FN(acosh_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = acosh_backward_one(dy[i], x[i]));
}

void FN(atanh_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = atanh_forward_one(x[i]));
}

void FN(atanh_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = atanh_backward_one(dy[i], x[i]));
}

/* ---------------------------------------------------- cosine similarity */

/* a, b: (N, D);  y, na, nb: (N,)
 *   na[r] = |a_r|,  nb[r] = |b_r|,  y[r] = (a_r . b_r) / (na[r] nb[r])
 * Convention: a row with na nb == 0 gives y = 0.  Sums in double. */
void FN(cossim_forward)(T *y, T *na, T *nb, const T *a, const T *b, int64_t N, int64_t D)
{
    MS_PARALLEL_FOR_WORK(r, N, N * D, {
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
    });
}

/* dy, y, na, nb: (N,);  da, db, a, b: (N, D)
 *   da_r = dy_r (b_r / (na nb) - y_r a_r / na^2)     term 1: the dot product, term 2: |a|
 *   db_r = dy_r (a_r / (na nb) - y_r b_r / nb^2)
 * (0 for a row with na nb == 0, the forward's convention) */
void FN(cossim_backward)(T *da, T *db, const T *dy, const T *y, const T *na, const T *nb,
                         const T *a, const T *b, int64_t N, int64_t D)
{
    MS_PARALLEL_FOR_WORK(r, N, N * D, {
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
    });
}

/* ---------------------------------------------------------- ranking loss */

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

/* h_i = [M - pos_i + neg_i > 0]  (0 at the hinge itself)
 *   dpos_i = -dy h_i / N ;  dneg_i = dy h_i / N */
void FN(ranking_loss_backward)(T *dpos, T *dneg, const T *dy, const T *pos, const T *neg, T M,
                               int64_t n, int64_t N)
{
    double g = (double)dy[0] / (double)N;
    for (int64_t i = 0; i < n; i++) {
        int active = (double)M - (double)pos[i] + (double)neg[i] > 0.0;
        dpos[i] = active ? (T)(-g) : (T)0;
        dneg[i] = active ? (T)g : (T)0;
    }
}

/* ---------------------------------------------------- reduce_max / reduce_min
 * x: (outer, mid, inner), mid >= 1;  y, arg: (outer, inner).
 * arg[o, i] is the position m of the FIRST maximum (minimum) of x[o, :, i]:
 * the strict comparison keeps the earliest on a tie, and backward sends dy
 * there alone. */

/* y[o, i] = max_m x[o, m, i],  arg[o, i] = the first m attaining it */
void FN(reduce_max_forward)(T *y, int32_t *arg, const T *x, int64_t outer, int64_t mid,
                            int64_t inner)
{
    MS_PARALLEL_FOR_WORK(o, outer, outer * mid * inner, {
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
    });
}

/* y[o, i] = min_m x[o, m, i],  arg[o, i] = the first m attaining it */
void FN(reduce_min_forward)(T *y, int32_t *arg, const T *x, int64_t outer, int64_t mid,
                            int64_t inner)
{
    MS_PARALLEL_FOR_WORK(o, outer, outer * mid * inner, {
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
    });
}

/* dx[o, m, i] = dy[o, i] if m == arg[o, i] else 0   (backward of both) */
void FN(reduce_arg_backward)(T *dx, const T *dy, const int32_t *arg, int64_t outer,
                             int64_t mid, int64_t inner)
{
    MS_PARALLEL_FOR_WORK(o, outer, outer * mid * inner, {
        for (int64_t m = 0; m < mid; m++)
            for (int64_t i = 0; i < inner; i++)
                dx[(o * mid + m) * inner + i] =
                    arg[o * inner + i] == m ? dy[o * inner + i] : (T)0;
    });
}
