/* storage.c -- fills, copies and casts.  Typed: compiled for f32, f64, i32
 * (see minisinga.h for T and FN).  Each loop is threaded only when it is large
 * enough to pay for waking the threads. */
#include "minisinga.h"

#define MS_PAR_MIN 65536 /* elements below which a copy stays single-threaded */
/* Below MS_PAR_MIN elements a loop runs on one thread.  The kernels that a small
 * model calls on every step test that themselves and run a plain loop, instead of
 * `#pragma omp parallel for if (...)`: with its condition false OpenMP still sets up
 * a one-thread team, about 0.4 us a call, which is more than such a loop itself
 * (a tiny MLP's training step makes 20 kernel calls). */

/* y[i] = value */
void FN(fill)(T *y, T value, int64_t n)
{
    if (n <= MS_PAR_MIN) { /* small: a plain loop (see MS_PAR_MIN) */
        for (int64_t i = 0; i < n; i++)
            y[i] = value;
        return;
    }
#pragma omp parallel for
    for (int64_t i = 0; i < n; i++)
        y[i] = value;
}

/* y[i] = x[i] */
void FN(copy)(T *y, const T *x, int64_t n)
{
    if (n <= MS_PAR_MIN) { /* small: a plain loop (see MS_PAR_MIN) */
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i];
        return;
    }
#pragma omp parallel for
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i];
}

#if MS_IS_FLOAT
#define MS_FROM_FLOAT(v) ((T)(v))
#else
/* float -> int32: truncate toward zero, saturate at the int32 range, NaN -> 0.
 * A plain C cast of NaN, +-inf or anything outside the range is undefined
 * behaviour (x86 happens to give INT32_MIN), so the edges are spelled out. */
static inline T ms_float_to_int(double v)
{
    if (v != v)
        return 0;
    if (v >= 2147483647.0)
        return INT32_MAX;
    if (v <= -2147483648.0)
        return INT32_MIN;
    return (T)v;
}
#define MS_FROM_FLOAT(v) ms_float_to_int((double)(v))
#endif

/* y[i] = (T) x[i]; to int32: truncate toward zero, saturate, NaN -> 0 */
void FN(cast_from_f32)(T *y, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = MS_FROM_FLOAT(x[i]);
}

void FN(cast_from_f64)(T *y, const double *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = MS_FROM_FLOAT(x[i]);
}

void FN(cast_from_i32)(T *y, const int32_t *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)x[i];
}

/* --8<-- [start:strided_copy] */
/* y: compact, shape[0..ndim);  x: read at sum_j idx[j] * xstrides[j].
 * We walk y in order and keep a running multi-index (an "odometer"), so the
 * inner dimension is a plain strided loop. */
void FN(strided_copy)(T *y, const T *x, const int64_t *shape,
                      const int64_t *xstrides, int ndim)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    if (n == 0)
        return;
    if (ndim == 0) {
        y[0] = x[0];
        return;
    }
    int64_t inner = shape[ndim - 1], istride = xstrides[ndim - 1];
    int64_t outer = n / inner;
    /* one thread per block of outer rows; each row recomputes its base offset */
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t o = 0; o < outer; o++) {
        int64_t rem = o, base = 0;
        for (int d = ndim - 2; d >= 0; d--) {
            base += (rem % shape[d]) * xstrides[d];
            rem /= shape[d];
        }
        T *yr = y + o * inner;
        const T *xr = x + base;
        for (int64_t j = 0; j < inner; j++)
            yr[j] = xr[j * istride];
    }
}
/* --8<-- [end:strided_copy] */

/* --8<-- [start:copy_block] */
/* y: (outer, ny), x: (outer, nx);  y[o, offset + j] = x[o, j] */
void FN(copy_block)(T *y, const T *x, int64_t outer, int64_t ny, int64_t nx,
                    int64_t offset)
{
#pragma omp parallel for if (outer * nx > MS_PAR_MIN)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < nx; j++)
            y[o * ny + offset + j] = x[o * nx + j];
}
/* --8<-- [end:copy_block] */

/* --8<-- [start:take_block] */
/* y: (outer, ny), x: (outer, nx);  y[o, j] = x[o, offset + j] */
void FN(take_block)(T *y, const T *x, int64_t outer, int64_t ny, int64_t nx,
                    int64_t offset)
{
#pragma omp parallel for if (outer * ny > MS_PAR_MIN)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < ny; j++)
            y[o * ny + j] = x[o * nx + offset + j];
}
/* --8<-- [end:take_block] */
