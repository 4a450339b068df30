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

/* --8<-- [start:add_forward] */
void FN(add_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = add_forward_one(a[i], b[i]));
}
/* --8<-- [end:add_forward] */

/* --8<-- [start:sub_forward] */
void FN(sub_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = sub_forward_one(a[i], b[i]));
}
/* --8<-- [end:sub_forward] */

/* --8<-- [start:mul_forward] */
void FN(mul_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = mul_forward_one(a[i], b[i]));
}
/* --8<-- [end:mul_forward] */

/* --8<-- [start:div_forward] */
void FN(div_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = div_forward_one(a[i], b[i]));
}
/* --8<-- [end:div_forward] */

/* --8<-- [start:div_backward] */
void FN(div_backward)(T *da, T *db, const T *dy, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, {
        da[i] = div_backward_da_one(dy[i], b[i]);
        db[i] = div_backward_db_one(dy[i], a[i], b[i]);
    });
}
/* --8<-- [end:div_backward] */

/* --8<-- [start:pow_forward] */
void FN(pow_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = pow_forward_one(a[i], b[i]));
}
/* --8<-- [end:pow_forward] */

/* --8<-- [start:pow_backward] */
void FN(pow_backward)(T *da, T *db, const T *dy, const T *a, const T *b, const T *y, int64_t n)
{
    MS_PARALLEL_FOR(i, n, {
        da[i] = pow_backward_da_one(dy[i], a[i], b[i]);
        db[i] = pow_backward_db_one(dy[i], a[i], y[i]);
    });
}
/* --8<-- [end:pow_backward] */

/* --8<-- [start:affine_forward] */
void FN(affine_forward)(T *y, const T *x, T alpha, T beta, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = affine_forward_one(x[i], alpha, beta));
}
/* --8<-- [end:affine_forward] */

/* --8<-- [start:axpy] */
void FN(axpy)(T *y, const T *x, T alpha, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = axpy_one(y[i], x[i], alpha));
}
/* --8<-- [end:axpy] */

/* ------------------------------------------------------------------- unary */

/* --8<-- [start:reciprocal_forward] */
void FN(reciprocal_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = reciprocal_forward_one(x[i]));
}
/* --8<-- [end:reciprocal_forward] */

/* --8<-- [start:reciprocal_backward] */
void FN(reciprocal_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = reciprocal_backward_one(dy[i], y[i]));
}
/* --8<-- [end:reciprocal_backward] */

/* --8<-- [start:abs_forward] */
void FN(abs_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = abs_forward_one(x[i]));
}
/* --8<-- [end:abs_forward] */

/* --8<-- [start:abs_backward] */
void FN(abs_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = abs_backward_one(dy[i], x[i]));
}
/* --8<-- [end:abs_backward] */

/* --8<-- [start:exp_forward] */
void FN(exp_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = exp_forward_one(x[i]));
}
/* --8<-- [end:exp_forward] */

/* --8<-- [start:log_forward] */
void FN(log_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = log_forward_one(x[i]));
}
/* --8<-- [end:log_forward] */

/* --8<-- [start:sqrt_forward] */
void FN(sqrt_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = sqrt_forward_one(x[i]));
}
/* --8<-- [end:sqrt_forward] */

/* --8<-- [start:sqrt_backward] */
void FN(sqrt_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = sqrt_backward_one(dy[i], y[i]));
}
/* --8<-- [end:sqrt_backward] */

/* --8<-- [start:clip_forward] */
void FN(clip_forward)(T *y, const T *x, T lo, T hi, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = clip_forward_one(x[i], lo, hi));
}
/* --8<-- [end:clip_forward] */

/* --8<-- [start:clip_backward] */
void FN(clip_backward)(T *dx, const T *dy, const T *x, T lo, T hi, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = clip_backward_one(dy[i], x[i], lo, hi));
}
/* --8<-- [end:clip_backward] */

/* --8<-- [start:dropout_forward] */
void FN(dropout_forward)(T *y, const T *x, const T *mask, T scale, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = dropout_forward_one(x[i], mask[i], scale));
}
/* --8<-- [end:dropout_forward] */

/* --8<-- [start:add_bias_forward] */
/* x: (M, N), b: (N,) when axis == 0 (added to every row) or (M,) when
 * axis == 1 (added to every column).  y = x + b */
void FN(add_bias_forward)(T *y, const T *x, const T *b, int64_t M, int64_t N, int axis)
{
    MS_PARALLEL_FOR_WORK(i, M, M * N, {
        for (int64_t j = 0; j < N; j++)
            y[i * N + j] = add_forward_one(x[i * N + j], axis == 0 ? b[j] : b[i]);
    });
}
/* --8<-- [end:add_bias_forward] */
