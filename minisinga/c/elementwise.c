/* elementwise.c -- arithmetic on compact buffers of n elements.  Typed (f32, f64).
 *
 * Broadcasting is decided in Python: by the time these kernels run, every
 * operand has the output's n elements.  Forward kernels compute y from the
 * inputs; backward kernels WRITE the input gradients (da, db) from the
 * upstream gradient dy and the values saved in forward. */
#include <math.h>
#include "minisinga.h"

#define MS_PAR_MIN 32768 /* below this many elements, one thread is faster */
/* Below MS_PAR_MIN elements a loop runs on one thread.  The kernels that a small
 * model calls on every step test that themselves and run a plain loop, instead of
 * `#pragma omp parallel for if (...)`: with its condition false OpenMP still sets up
 * a one-thread team, about 0.4 us a call, which is more than such a loop itself
 * (a tiny MLP's training step makes 20 kernel calls). */

/* ------------------------------------------------------------------ binary */

/* --8<-- [start:add_forward] */
/* y = a + b */
void FN(add_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}
/* --8<-- [end:add_forward] */

/* --8<-- [start:sub_forward] */
/* y = a - b */
void FN(sub_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] - b[i];
}
/* --8<-- [end:sub_forward] */

/* --8<-- [start:mul_forward] */
/* y = a * b   (also the backward of mul: da = dy * b, db = dy * a) */
void FN(mul_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] * b[i];
}
/* --8<-- [end:mul_forward] */

/* --8<-- [start:div_forward] */
/* y = a / b */
void FN(div_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] / b[i];
}
/* --8<-- [end:div_forward] */

/* --8<-- [start:div_backward] */
/* da = dy / b ;  db = -dy * a / b^2 */
void FN(div_backward)(T *da, T *db, const T *dy, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        T inv = (T)1 / b[i];
        da[i] = dy[i] * inv;
        db[i] = -dy[i] * a[i] * inv * inv;
    }
}
/* --8<-- [end:div_backward] */

/* --8<-- [start:pow_forward] */
/* y = a ^ b */
void FN(pow_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)pow((double)a[i], (double)b[i]);
}
/* --8<-- [end:pow_forward] */

/* --8<-- [start:pow_backward] */
/* da = dy * b * a^(b-1) ;  db = dy * y * ln(a)   (y = a^b saved)
 * Convention: db = 0 where a == 0 (the limit of y ln a as a -> 0+ for b > 0). */
void FN(pow_backward)(T *da, T *db, const T *dy, const T *a, const T *b,
                      const T *y, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        da[i] = dy[i] * b[i] * (T)pow((double)a[i], (double)b[i] - 1.0);
        db[i] = (a[i] == (T)0) ? (T)0 : dy[i] * y[i] * (T)log((double)a[i]);
    }
}
/* --8<-- [end:pow_backward] */

/* --8<-- [start:affine_forward] */
/* y = alpha * x + beta   (scaling, shifting, negation: alpha = -1, beta = 0) */
void FN(affine_forward)(T *y, const T *x, T alpha, T beta, int64_t n)
{
    if (n <= MS_PAR_MIN) { /* small: a plain loop (see MS_PAR_MIN) */
        for (int64_t i = 0; i < n; i++)
            y[i] = alpha * x[i] + beta;
        return;
    }
#pragma omp parallel for
    for (int64_t i = 0; i < n; i++)
        y[i] = alpha * x[i] + beta;
}
/* --8<-- [end:affine_forward] */

/* --8<-- [start:axpy] */
/* y += alpha * x   (gradient accumulation, the SGD step) */
void FN(axpy)(T *y, const T *x, T alpha, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}
/* --8<-- [end:axpy] */

/* ------------------------------------------------------------------- unary */

/* --8<-- [start:reciprocal_forward] */
/* y = 1 / x */
void FN(reciprocal_forward)(T *y, const T *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)1 / x[i];
}
/* --8<-- [end:reciprocal_forward] */

/* --8<-- [start:reciprocal_backward] */
/* dx = -dy * y^2   (y = 1/x saved) */
void FN(reciprocal_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dx[i] = -dy[i] * y[i] * y[i];
}
/* --8<-- [end:reciprocal_backward] */

/* --8<-- [start:abs_forward] */
/* y = |x| */
void FN(abs_forward)(T *y, const T *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] < 0 ? -x[i] : x[i];
}
/* --8<-- [end:abs_forward] */

/* --8<-- [start:abs_backward] */
/* dx = dy * sign(x), with sign(0) = 0 */
void FN(abs_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dx[i] = x[i] > 0 ? dy[i] : (x[i] < 0 ? -dy[i] : (T)0);
}
/* --8<-- [end:abs_backward] */

/* --8<-- [start:exp_forward] */
/* y = e^x   (backward: dx = dy * y, the mul kernel) */
void FN(exp_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)exp((double)x[i]);
}
/* --8<-- [end:exp_forward] */

/* --8<-- [start:log_forward] */
/* y = ln x   (backward: dx = dy / x, the div kernel) */
void FN(log_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)log((double)x[i]);
}
/* --8<-- [end:log_forward] */

/* --8<-- [start:sqrt_forward] */
/* y = sqrt(x) */
void FN(sqrt_forward)(T *y, const T *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)sqrt((double)x[i]);
}
/* --8<-- [end:sqrt_forward] */

/* --8<-- [start:sqrt_backward] */
/* dx = dy / (2 y)   (y = sqrt(x) saved) */
void FN(sqrt_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dx[i] = dy[i] / ((T)2 * y[i]);
}
/* --8<-- [end:sqrt_backward] */

/* --8<-- [start:clip_forward] */
/* y = min(max(x, lo), hi) */
void FN(clip_forward)(T *y, const T *x, T lo, T hi, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
}
/* --8<-- [end:clip_forward] */

/* --8<-- [start:clip_backward] */
/* dx = dy where lo <= x <= hi, else 0 (the boundaries pass the gradient) */
void FN(clip_backward)(T *dx, const T *dy, const T *x, T lo, T hi, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dx[i] = (x[i] >= lo && x[i] <= hi) ? dy[i] : (T)0;
}
/* --8<-- [end:clip_backward] */

/* --8<-- [start:dropout_forward] */
/* y = x * mask * scale, mask[i] in {0, 1} drawn by random_bernoulli;
 * also the backward: dx = dy * mask * scale */
void FN(dropout_forward)(T *y, const T *x, const T *mask, T scale, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * mask[i] * scale;
}
/* --8<-- [end:dropout_forward] */

/* --8<-- [start:add_bias_forward] */
/* x: (M, N), b: (N,) when axis == 0 (added to every row) or (M,) when
 * axis == 1 (added to every column).  y = x + b */
void FN(add_bias_forward)(T *y, const T *x, const T *b, int64_t M, int64_t N, int axis)
{
    if (M * N <= MS_PAR_MIN) { /* small: a plain loop (see MS_PAR_MIN) */
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                y[i * N + j] = x[i * N + j] + (axis == 0 ? b[j] : b[i]);
        return;
    }
#pragma omp parallel for
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++)
            y[i * N + j] = x[i * N + j] + (axis == 0 ? b[j] : b[i]);
}
/* --8<-- [end:add_bias_forward] */
