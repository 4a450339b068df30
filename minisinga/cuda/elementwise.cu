/* elementwise.cu -- the CUDA twins of minisinga/c/elementwise.c.  Typed (f32, f64).
 *
 * One thread per element (grid-stride).  Each launcher has the C kernel's
 * signature (extern "C": nvcc rejects any difference from minisinga.h), takes
 * device pointers and launches <name>_kernel.  Forward kernels compute y;
 * backward kernels WRITE the input gradients. */
#include "ms_cuda.h"

/* --8<-- [start:ew_launch] */
/* The launch every kernel of this file uses: n elements, MS_THREADS a block. */
#define MS_EW_LAUNCH(kernel, n, ...)                                   \
    do {                                                               \
        if ((n) > 0)                                                   \
            MS_LAUNCH(kernel, ms_blocks(n), MS_THREADS, __VA_ARGS__);  \
    } while (0)
/* --8<-- [end:ew_launch] */

/* ------------------------------------------------------------------ binary */

/* --8<-- [start:add_forward] */
/* y = a + b */
__global__ void FN(add_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = a[i] + b[i];
}
extern "C" void FN(add_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(add_forward_kernel), n, y, a, b, n);
}
/* --8<-- [end:add_forward] */

/* --8<-- [start:sub_forward] */
/* y = a - b */
__global__ void FN(sub_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = a[i] - b[i];
}
extern "C" void FN(sub_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(sub_forward_kernel), n, y, a, b, n);
}
/* --8<-- [end:sub_forward] */

/* --8<-- [start:mul_forward] */
/* y = a * b */
__global__ void FN(mul_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = a[i] * b[i];
}
extern "C" void FN(mul_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(mul_forward_kernel), n, y, a, b, n);
}
/* --8<-- [end:mul_forward] */

/* --8<-- [start:div_forward] */
/* y = a / b */
__global__ void FN(div_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = a[i] / b[i];
}
extern "C" void FN(div_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(div_forward_kernel), n, y, a, b, n);
}
/* --8<-- [end:div_forward] */

/* --8<-- [start:div_backward] */
/* da = dy / b ;  db = -dy * a / b^2 */
__global__ void FN(div_backward_kernel)(T *da, T *db, const T *dy, const T *a, const T *b,
                                        int64_t n)
{
    MS_FOR_EACH(i, n) {
        T inv = (T)1 / b[i];
        da[i] = dy[i] * inv;
        db[i] = -dy[i] * a[i] * inv * inv;
    }
}
extern "C" void FN(div_backward)(T *da, T *db, const T *dy, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(div_backward_kernel), n, da, db, dy, a, b, n);
}
/* --8<-- [end:div_backward] */

/* --8<-- [start:pow_forward] */
/* y = a ^ b   (in double, as the C kernel) */
__global__ void FN(pow_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = (T)pow((double)a[i], (double)b[i]);
}
extern "C" void FN(pow_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(pow_forward_kernel), n, y, a, b, n);
}
/* --8<-- [end:pow_forward] */

/* --8<-- [start:pow_backward] */
/* da = dy * b * a^(b-1) ;  db = dy * y * ln(a), and db = 0 where a == 0 */
__global__ void FN(pow_backward_kernel)(T *da, T *db, const T *dy, const T *a, const T *b,
                                        const T *y, int64_t n)
{
    MS_FOR_EACH(i, n) {
        da[i] = dy[i] * b[i] * (T)pow((double)a[i], (double)b[i] - 1.0);
        db[i] = (a[i] == (T)0) ? (T)0 : dy[i] * y[i] * (T)log((double)a[i]);
    }
}
extern "C" void FN(pow_backward)(T *da, T *db, const T *dy, const T *a, const T *b, const T *y,
                      int64_t n)
{
    MS_EW_LAUNCH(FN(pow_backward_kernel), n, da, db, dy, a, b, y, n);
}
/* --8<-- [end:pow_backward] */

/* --8<-- [start:affine_forward] */
/* y = alpha * x + beta */
__global__ void FN(affine_forward_kernel)(T *y, const T *x, T alpha, T beta, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = alpha * x[i] + beta;
}
extern "C" void FN(affine_forward)(T *y, const T *x, T alpha, T beta, int64_t n)
{
    MS_EW_LAUNCH(FN(affine_forward_kernel), n, y, x, alpha, beta, n);
}
/* --8<-- [end:affine_forward] */

/* --8<-- [start:axpy] */
/* y += alpha * x */
__global__ void FN(axpy_kernel)(T *y, const T *x, T alpha, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] += alpha * x[i];
}
extern "C" void FN(axpy)(T *y, const T *x, T alpha, int64_t n)
{
    MS_EW_LAUNCH(FN(axpy_kernel), n, y, x, alpha, n);
}
/* --8<-- [end:axpy] */

/* ------------------------------------------------------------------- unary */

/* --8<-- [start:reciprocal_forward] */
/* y = 1 / x */
__global__ void FN(reciprocal_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = (T)1 / x[i];
}
extern "C" void FN(reciprocal_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(reciprocal_forward_kernel), n, y, x, n);
}
/* --8<-- [end:reciprocal_forward] */

/* --8<-- [start:reciprocal_backward] */
/* dx = -dy * y^2   (y = 1/x saved) */
__global__ void FN(reciprocal_backward_kernel)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = -dy[i] * y[i] * y[i];
}
extern "C" void FN(reciprocal_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_EW_LAUNCH(FN(reciprocal_backward_kernel), n, dx, dy, y, n);
}
/* --8<-- [end:reciprocal_backward] */

/* --8<-- [start:abs_forward] */
/* y = |x| */
__global__ void FN(abs_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = x[i] < 0 ? -x[i] : x[i];
}
extern "C" void FN(abs_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(abs_forward_kernel), n, y, x, n);
}
/* --8<-- [end:abs_forward] */

/* --8<-- [start:abs_backward] */
/* dx = dy * sign(x), with sign(0) = 0 */
__global__ void FN(abs_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = x[i] > 0 ? dy[i] : (x[i] < 0 ? -dy[i] : (T)0);
}
extern "C" void FN(abs_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(abs_backward_kernel), n, dx, dy, x, n);
}
/* --8<-- [end:abs_backward] */

/* --8<-- [start:exp_forward] */
/* y = e^x */
__global__ void FN(exp_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = (T)exp((double)x[i]);
}
extern "C" void FN(exp_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(exp_forward_kernel), n, y, x, n);
}
/* --8<-- [end:exp_forward] */

/* --8<-- [start:log_forward] */
/* y = ln x */
__global__ void FN(log_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = (T)log((double)x[i]);
}
extern "C" void FN(log_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(log_forward_kernel), n, y, x, n);
}
/* --8<-- [end:log_forward] */

/* --8<-- [start:sqrt_forward] */
/* y = sqrt(x) */
__global__ void FN(sqrt_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = (T)sqrt((double)x[i]);
}
extern "C" void FN(sqrt_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(sqrt_forward_kernel), n, y, x, n);
}
/* --8<-- [end:sqrt_forward] */

/* --8<-- [start:sqrt_backward] */
/* dx = dy / (2 y)   (y = sqrt(x) saved) */
__global__ void FN(sqrt_backward_kernel)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = dy[i] / ((T)2 * y[i]);
}
extern "C" void FN(sqrt_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_EW_LAUNCH(FN(sqrt_backward_kernel), n, dx, dy, y, n);
}
/* --8<-- [end:sqrt_backward] */

/* --8<-- [start:clip_forward] */
/* y = min(max(x, lo), hi) */
__global__ void FN(clip_forward_kernel)(T *y, const T *x, T lo, T hi, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
}
extern "C" void FN(clip_forward)(T *y, const T *x, T lo, T hi, int64_t n)
{
    MS_EW_LAUNCH(FN(clip_forward_kernel), n, y, x, lo, hi, n);
}
/* --8<-- [end:clip_forward] */

/* --8<-- [start:clip_backward] */
/* dx = dy where lo <= x <= hi, else 0 (the boundaries pass the gradient) */
__global__ void FN(clip_backward_kernel)(T *dx, const T *dy, const T *x, T lo, T hi,
                                         int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = (x[i] >= lo && x[i] <= hi) ? dy[i] : (T)0;
}
extern "C" void FN(clip_backward)(T *dx, const T *dy, const T *x, T lo, T hi, int64_t n)
{
    MS_EW_LAUNCH(FN(clip_backward_kernel), n, dx, dy, x, lo, hi, n);
}
/* --8<-- [end:clip_backward] */

/* --8<-- [start:dropout_forward] */
/* y = x * mask * scale   (also the backward: dx = dy * mask * scale) */
__global__ void FN(dropout_forward_kernel)(T *y, const T *x, const T *mask, T scale,
                                           int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = x[i] * mask[i] * scale;
}
extern "C" void FN(dropout_forward)(T *y, const T *x, const T *mask, T scale, int64_t n)
{
    MS_EW_LAUNCH(FN(dropout_forward_kernel), n, y, x, mask, scale, n);
}
/* --8<-- [end:dropout_forward] */

/* --8<-- [start:add_bias_forward] */
/* x: (M, N); b: (N,) added to every row (axis 0) or (M,) to every column
 * (axis 1).  y = x + b */
__global__ void FN(add_bias_forward_kernel)(T *y, const T *x, const T *b, int64_t M,
                                            int64_t N, int axis)
{
    MS_FOR_EACH(i, M * N)
        y[i] = x[i] + (axis == 0 ? b[i % N] : b[i / N]);
}
extern "C" void FN(add_bias_forward)(T *y, const T *x, const T *b, int64_t M, int64_t N, int axis)
{
    MS_EW_LAUNCH(FN(add_bias_forward_kernel), M * N, y, x, b, M, N, axis);
}
/* --8<-- [end:add_bias_forward] */
