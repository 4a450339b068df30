/* elementwise.cu -- the CUDA twins of minisinga/c/elementwise.c.  Typed (f32, f64).
 *
 * One thread per element (grid-stride).  Each launcher has the C kernel's
 * signature (extern "C": nvcc rejects any difference from minisinga.h), takes
 * device pointers and launches <name>_kernel.  Forward kernels compute y;
 * backward kernels WRITE the input gradients. */
#include "ms_cuda.h"
#include "pointwise.h"

/* ------------------------------------------------------------------ binary */

__global__ void FN(add_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = add_forward_one(a[i], b[i]);
}
extern "C" void FN(add_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(add_forward_kernel), n, y, a, b, n);
}

__global__ void FN(sub_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = sub_forward_one(a[i], b[i]);
}
extern "C" void FN(sub_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(sub_forward_kernel), n, y, a, b, n);
}

__global__ void FN(mul_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = mul_forward_one(a[i], b[i]);
}
extern "C" void FN(mul_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(mul_forward_kernel), n, y, a, b, n);
}

__global__ void FN(div_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = div_forward_one(a[i], b[i]);
}
extern "C" void FN(div_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(div_forward_kernel), n, y, a, b, n);
}

__global__ void FN(div_backward_kernel)(T *da, T *db, const T *dy, const T *a, const T *b,
                                        int64_t n)
{
    MS_FOR_EACH(i, n) {
        da[i] = div_backward_da_one(dy[i], b[i]);
        db[i] = div_backward_db_one(dy[i], a[i], b[i]);
    }
}
extern "C" void FN(div_backward)(T *da, T *db, const T *dy, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(div_backward_kernel), n, da, db, dy, a, b, n);
}

__global__ void FN(pow_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = pow_forward_one(a[i], b[i]);
}
extern "C" void FN(pow_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(pow_forward_kernel), n, y, a, b, n);
}

__global__ void FN(pow_backward_kernel)(T *da, T *db, const T *dy, const T *a, const T *b,
                                        const T *y, int64_t n)
{
    MS_FOR_EACH(i, n) {
        da[i] = pow_backward_da_one(dy[i], a[i], b[i]);
        db[i] = pow_backward_db_one(dy[i], a[i], y[i]);
    }
}
extern "C" void FN(pow_backward)(T *da, T *db, const T *dy, const T *a, const T *b, const T *y,
                                 int64_t n)
{
    MS_EW_LAUNCH(FN(pow_backward_kernel), n, da, db, dy, a, b, y, n);
}

__global__ void FN(affine_forward_kernel)(T *y, const T *x, T alpha, T beta, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = affine_forward_one(x[i], alpha, beta);
}
extern "C" void FN(affine_forward)(T *y, const T *x, T alpha, T beta, int64_t n)
{
    MS_EW_LAUNCH(FN(affine_forward_kernel), n, y, x, alpha, beta, n);
}

__global__ void FN(axpy_kernel)(T *y, const T *x, T alpha, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = axpy_one(y[i], x[i], alpha);
}
extern "C" void FN(axpy)(T *y, const T *x, T alpha, int64_t n)
{
    MS_EW_LAUNCH(FN(axpy_kernel), n, y, x, alpha, n);
}

/* ------------------------------------------------------------------- unary */

__global__ void FN(reciprocal_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = reciprocal_forward_one(x[i]);
}
extern "C" void FN(reciprocal_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(reciprocal_forward_kernel), n, y, x, n);
}

__global__ void FN(reciprocal_backward_kernel)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = reciprocal_backward_one(dy[i], y[i]);
}
extern "C" void FN(reciprocal_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_EW_LAUNCH(FN(reciprocal_backward_kernel), n, dx, dy, y, n);
}

__global__ void FN(abs_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = abs_forward_one(x[i]);
}
extern "C" void FN(abs_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(abs_forward_kernel), n, y, x, n);
}

__global__ void FN(abs_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = abs_backward_one(dy[i], x[i]);
}
extern "C" void FN(abs_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(abs_backward_kernel), n, dx, dy, x, n);
}

__global__ void FN(exp_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = exp_forward_one(x[i]);
}
extern "C" void FN(exp_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(exp_forward_kernel), n, y, x, n);
}

__global__ void FN(log_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = log_forward_one(x[i]);
}
extern "C" void FN(log_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(log_forward_kernel), n, y, x, n);
}

__global__ void FN(sqrt_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = sqrt_forward_one(x[i]);
}
extern "C" void FN(sqrt_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(sqrt_forward_kernel), n, y, x, n);
}

__global__ void FN(sqrt_backward_kernel)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = sqrt_backward_one(dy[i], y[i]);
}
extern "C" void FN(sqrt_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_EW_LAUNCH(FN(sqrt_backward_kernel), n, dx, dy, y, n);
}

__global__ void FN(clip_forward_kernel)(T *y, const T *x, T lo, T hi, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = clip_forward_one(x[i], lo, hi);
}
extern "C" void FN(clip_forward)(T *y, const T *x, T lo, T hi, int64_t n)
{
    MS_EW_LAUNCH(FN(clip_forward_kernel), n, y, x, lo, hi, n);
}

__global__ void FN(clip_backward_kernel)(T *dx, const T *dy, const T *x, T lo, T hi, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = clip_backward_one(dy[i], x[i], lo, hi);
}
extern "C" void FN(clip_backward)(T *dx, const T *dy, const T *x, T lo, T hi, int64_t n)
{
    MS_EW_LAUNCH(FN(clip_backward_kernel), n, dx, dy, x, lo, hi, n);
}

__global__ void FN(dropout_forward_kernel)(T *y, const T *x, const T *mask, T scale, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = dropout_forward_one(x[i], mask[i], scale);
}
extern "C" void FN(dropout_forward)(T *y, const T *x, const T *mask, T scale, int64_t n)
{
    MS_EW_LAUNCH(FN(dropout_forward_kernel), n, y, x, mask, scale, n);
}

/* x: (M, N); b: (N,) added to every row (axis 0) or (M,) to every column
 * (axis 1).  y = x + b */
__global__ void FN(add_bias_forward_kernel)(T *y, const T *x, const T *b, int64_t M,
                                            int64_t N, int axis)
{
    MS_FOR_EACH(i, M * N)
        y[i] = add_forward_one(x[i], axis == 0 ? b[i % N] : b[i / N]);
}
extern "C" void FN(add_bias_forward)(T *y, const T *x, const T *b, int64_t M, int64_t N, int axis)
{
    MS_EW_LAUNCH(FN(add_bias_forward_kernel), M * N, y, x, b, M, N, axis);
}
