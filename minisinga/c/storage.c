/* storage.c -- fills, copies and casts.  Typed: compiled for f32, f64, i32
 * (see minisinga.h for T and FN).  Each loop is threaded only when it is large
 * enough to pay for waking the threads. */
#include "minisinga.h"
#include "ms_parallel.h"
#include "pointwise.h"


/* y[i] = value */
void FN(fill)(T *y, T value, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = value);
}

/* y[i] = x[i] */
void FN(copy)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = x[i]);
}


/* y[i] = (T) x[i]; from a float to int32: truncate toward zero, saturate,
 * NaN -> 0 (cast_from_float_one, pointwise.h) */
void FN(cast_from_f32)(T *y, const float *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = cast_from_float_one((double)x[i]));
}

void FN(cast_from_f64)(T *y, const double *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = cast_from_float_one(x[i]));
}

void FN(cast_from_i32)(T *y, const int32_t *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = (T)x[i]);
}

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
    MS_PARALLEL_FOR_WORK(o, outer, n, {
        int64_t rem = o, base = 0;
        for (int d = ndim - 2; d >= 0; d--) {
            base += (rem % shape[d]) * xstrides[d];
            rem /= shape[d];
        }
        T *yr = y + o * inner;
        const T *xr = x + base;
        for (int64_t j = 0; j < inner; j++)
            yr[j] = xr[j * istride];
    });
}

/* y: (outer, ny), x: (outer, nx);  y[o, offset + j] = x[o, j] */
void FN(copy_block)(T *y, const T *x, int64_t outer, int64_t ny, int64_t nx,
                    int64_t offset)
{
    MS_PARALLEL_FOR_WORK(o, outer, outer * nx, {
        for (int64_t j = 0; j < nx; j++)
            y[o * ny + offset + j] = x[o * nx + j];
    });
}

/* y: (outer, ny), x: (outer, nx);  y[o, j] = x[o, offset + j] */
void FN(take_block)(T *y, const T *x, int64_t outer, int64_t ny, int64_t nx,
                    int64_t offset)
{
    MS_PARALLEL_FOR_WORK(o, outer, outer * ny, {
        for (int64_t j = 0; j < ny; j++)
            y[o * ny + j] = x[o * nx + offset + j];
    });
}
