/* storage.cu -- the CUDA twins of minisinga/c/storage.c: fills, copies, casts.
 * Typed: compiled for f32, f64, i32 (T and FN as in minisinga.h).  Each
 * launcher has the C kernel's signature and takes device pointers; the
 * kernel it launches is named <name>_kernel (fill -> fill_kernel_f32).
 * One thread per element, grid-stride (MS_FOR_EACH). */
#include "ms_cuda.h"
#include "pointwise.h"

/* y[i] = value */
__global__ void FN(fill_kernel)(T *y, T value, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = value;
}

extern "C" void FN(fill)(T *y, T value, int64_t n)
{
    if (n > 0)
        MS_LAUNCH(FN(fill_kernel), ms_blocks(n), MS_THREADS, y, value, n);
}

/* y[i] = x[i] */
__global__ void FN(copy_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = x[i];
}

extern "C" void FN(copy)(T *y, const T *x, int64_t n)
{
    if (n > 0)
        MS_LAUNCH(FN(copy_kernel), ms_blocks(n), MS_THREADS, y, x, n);
}

/* y[i] = (T) x[i]; float -> int truncates toward zero, as C does */
/* y[i] = (T) x[i]; from a float to int32: truncate toward zero, saturate,
 * NaN -> 0 (cast_from_float_one, pointwise.h) */
__global__ void FN(cast_from_f32_kernel)(T *y, const float *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = cast_from_float_one((double)x[i]);
}

extern "C" void FN(cast_from_f32)(T *y, const float *x, int64_t n)
{
    MS_EW_LAUNCH(FN(cast_from_f32_kernel), n, y, x, n);
}

__global__ void FN(cast_from_f64_kernel)(T *y, const double *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = cast_from_float_one(x[i]);
}

extern "C" void FN(cast_from_f64)(T *y, const double *x, int64_t n)
{
    MS_EW_LAUNCH(FN(cast_from_f64_kernel), n, y, x, n);
}

__global__ void FN(cast_from_i32_kernel)(T *y, const int32_t *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = (T)x[i];
}

extern "C" void FN(cast_from_i32)(T *y, const int32_t *x, int64_t n)
{
    MS_EW_LAUNCH(FN(cast_from_i32_kernel), n, y, x, n);
}

/* The shape and the strides of x travel to the kernel by value (the
 * launcher gets host arrays, as the C kernel does). */
struct MsStrides {
    int64_t shape[MS_MAX_NDIM];
    int64_t xstrides[MS_MAX_NDIM];
};

/* y: compact, shape[0..ndim);  y[i] = x[sum_d idx_d(i) * xstrides[d]], where
 * idx(i) is the multi-index of the flat position i (last axis fastest). */
__global__ void FN(strided_copy_kernel)(T *y, const T *x, MsStrides s, int ndim, int64_t n)
{
    MS_FOR_EACH(i, n) {
        int64_t rem = i, off = 0;
        for (int d = ndim - 1; d >= 0; d--) {
            off += (rem % s.shape[d]) * s.xstrides[d];
            rem /= s.shape[d];
        }
        y[i] = x[off];
    }
}

extern "C" void FN(strided_copy)(T *y, const T *x, const int64_t *shape, const int64_t *xstrides,
                      int ndim)
{
    if (ndim < 0 || ndim > MS_MAX_NDIM) {
        /* Python refuses this first (CudaGPU checks ndim); never launch it */
        ms_cuda_check(cudaErrorInvalidValue, "strided_copy (ndim above MS_MAX_NDIM)");
        return;
    }
    MsStrides s;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        s.shape[d] = shape[d];
        s.xstrides[d] = xstrides[d];
        n *= shape[d];
    }
    if (n > 0)
        MS_LAUNCH(FN(strided_copy_kernel), ms_blocks(n), MS_THREADS, y, x, s, ndim, n);
}

/* y: (outer, ny), x: (outer, nx);  y[o, offset + j] = x[o, j] */
__global__ void FN(copy_block_kernel)(T *y, const T *x, int64_t outer, int64_t ny,
                                      int64_t nx, int64_t offset)
{
    MS_FOR_EACH(i, outer * nx) {
        int64_t o = i / nx, j = i % nx;
        y[o * ny + offset + j] = x[i];
    }
}

extern "C" void FN(copy_block)(T *y, const T *x, int64_t outer, int64_t ny, int64_t nx, int64_t offset)
{
    if (outer * nx > 0)
        MS_LAUNCH(FN(copy_block_kernel), ms_blocks(outer * nx), MS_THREADS,
                  y, x, outer, ny, nx, offset);
}

/* y: (outer, ny), x: (outer, nx);  y[o, j] = x[o, offset + j] */
__global__ void FN(take_block_kernel)(T *y, const T *x, int64_t outer, int64_t ny,
                                      int64_t nx, int64_t offset)
{
    MS_FOR_EACH(i, outer * ny) {
        int64_t o = i / ny, j = i % ny;
        y[i] = x[o * nx + offset + j];
    }
}

extern "C" void FN(take_block)(T *y, const T *x, int64_t outer, int64_t ny, int64_t nx, int64_t offset)
{
    if (outer * ny > 0)
        MS_LAUNCH(FN(take_block_kernel), ms_blocks(outer * ny), MS_THREADS,
                  y, x, outer, ny, nx, offset);
}
