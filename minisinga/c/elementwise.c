/* elementwise.c -- arithmetic on compact buffers of n elements.  Typed (f32, f64).
 *
 * Broadcasting is decided in Python: by the time these kernels run, every
 * operand has the output's n elements.  Forward kernels compute y from the
 * inputs; backward kernels WRITE the input gradients (da, db) from the
 * upstream gradient dy and the values saved in forward. */
#include <math.h>
#include "minisinga.h"
#include "ms_parallel.h"
#include "pointwise.h"


/* ------------------------------------------------------------------ binary */

void FN(add_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = add_forward_one(a[i], b[i]));
}

void FN(sub_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = sub_forward_one(a[i], b[i]));
}

void FN(mul_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = mul_forward_one(a[i], b[i]));
}

void FN(div_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = div_forward_one(a[i], b[i]));
}

void FN(div_backward)(T *da, T *db, const T *dy, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, {
        da[i] = div_backward_da_one(dy[i], b[i]);
        db[i] = div_backward_db_one(dy[i], a[i], b[i]);
    });
}

void FN(pow_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = pow_forward_one(a[i], b[i]));
}

void FN(pow_backward)(T *da, T *db, const T *dy, const T *a, const T *b, const T *y, int64_t n)
{
    MS_PARALLEL_FOR(i, n, {
        da[i] = pow_backward_da_one(dy[i], a[i], b[i]);
        db[i] = pow_backward_db_one(dy[i], a[i], y[i]);
    });
}

void FN(affine_forward)(T *y, const T *x, T alpha, T beta, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = affine_forward_one(x[i], alpha, beta));
}

void FN(axpy)(T *y, const T *x, T alpha, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = axpy_one(y[i], x[i], alpha));
}

/* ------------------------------------------------------------------- unary */

void FN(reciprocal_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = reciprocal_forward_one(x[i]));
}

void FN(reciprocal_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = reciprocal_backward_one(dy[i], y[i]));
}

void FN(abs_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = abs_forward_one(x[i]));
}

void FN(abs_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = abs_backward_one(dy[i], x[i]));
}

void FN(exp_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = exp_forward_one(x[i]));
}

void FN(log_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = log_forward_one(x[i]));
}

void FN(sqrt_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = sqrt_forward_one(x[i]));
}

void FN(sqrt_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = sqrt_backward_one(dy[i], y[i]));
}

void FN(clip_forward)(T *y, const T *x, T lo, T hi, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = clip_forward_one(x[i], lo, hi));
}

void FN(clip_backward)(T *dx, const T *dy, const T *x, T lo, T hi, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = clip_backward_one(dy[i], x[i], lo, hi));
}

void FN(dropout_forward)(T *y, const T *x, const T *mask, T scale, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = dropout_forward_one(x[i], mask[i], scale));
}

/* x: (M, N), b: (N,) when axis == 0 (added to every row) or (M,) when
 * axis == 1 (added to every column).  y = x + b */
void FN(add_bias_forward)(T *y, const T *x, const T *b, int64_t M, int64_t N, int axis)
{
    MS_PARALLEL_FOR_WORK(i, M, M * N, {
        for (int64_t j = 0; j < N; j++)
            y[i * N + j] = add_forward_one(x[i * N + j], axis == 0 ? b[j] : b[i]);
    });
}
