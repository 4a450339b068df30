/* activation.cu -- the CUDA twins of minisinga/c/activation.c.  Typed (f32, f64).
 *
 * Elementwise activations: one thread per element (grid-stride).  Softmax:
 * one block per normalised vector, reducing with ms_block_reduce (warp
 * shuffles, then one value per warp through shared memory). */
#include "ms_cuda.h"
#include "pointwise.h"

__global__ void FN(relu_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = relu_forward_one(x[i]);
}
extern "C" void FN(relu_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(relu_forward_kernel), n, y, x, n);
}

__global__ void FN(relu_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = relu_backward_one(dy[i], x[i]);
}
extern "C" void FN(relu_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(relu_backward_kernel), n, dx, dy, x, n);
}

__global__ void FN(leakyrelu_forward_kernel)(T *y, const T *x, T a, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = leakyrelu_forward_one(x[i], a);
}
extern "C" void FN(leakyrelu_forward)(T *y, const T *x, T a, int64_t n)
{
    MS_EW_LAUNCH(FN(leakyrelu_forward_kernel), n, y, x, a, n);
}

__global__ void FN(leakyrelu_backward_kernel)(T *dx, const T *dy, const T *x, T a, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = leakyrelu_backward_one(dy[i], x[i], a);
}
extern "C" void FN(leakyrelu_backward)(T *dx, const T *dy, const T *x, T a, int64_t n)
{
    MS_EW_LAUNCH(FN(leakyrelu_backward_kernel), n, dx, dy, x, a, n);
}

__global__ void FN(elu_forward_kernel)(T *y, const T *x, T alpha, T gamma, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = elu_forward_one(x[i], alpha, gamma);
}
extern "C" void FN(elu_forward)(T *y, const T *x, T alpha, T gamma, int64_t n)
{
    MS_EW_LAUNCH(FN(elu_forward_kernel), n, y, x, alpha, gamma, n);
}

__global__ void FN(elu_backward_kernel)(T *dx, const T *dy, const T *x, T alpha, T gamma,
                                        int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = elu_backward_one(dy[i], x[i], alpha, gamma);
}
extern "C" void FN(elu_backward)(T *dx, const T *dy, const T *x, T alpha, T gamma, int64_t n)
{
    MS_EW_LAUNCH(FN(elu_backward_kernel), n, dx, dy, x, alpha, gamma, n);
}

__global__ void FN(sigmoid_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = sigmoid_forward_one(x[i]);
}
extern "C" void FN(sigmoid_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(sigmoid_forward_kernel), n, y, x, n);
}

__global__ void FN(sigmoid_backward_kernel)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = sigmoid_backward_one(dy[i], y[i]);
}
extern "C" void FN(sigmoid_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_EW_LAUNCH(FN(sigmoid_backward_kernel), n, dx, dy, y, n);
}

__global__ void FN(hardsigmoid_forward_kernel)(T *y, const T *x, T alpha, T gamma, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = hardsigmoid_forward_one(x[i], alpha, gamma);
}
extern "C" void FN(hardsigmoid_forward)(T *y, const T *x, T alpha, T gamma, int64_t n)
{
    MS_EW_LAUNCH(FN(hardsigmoid_forward_kernel), n, y, x, alpha, gamma, n);
}

__global__ void FN(hardsigmoid_backward_kernel)(T *dx, const T *dy, const T *x, T alpha,
                                                T gamma, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = hardsigmoid_backward_one(dy[i], x[i], alpha, gamma);
}
extern "C" void FN(hardsigmoid_backward)(T *dx, const T *dy, const T *x, T alpha, T gamma,
                                         int64_t n)
{
    MS_EW_LAUNCH(FN(hardsigmoid_backward_kernel), n, dx, dy, x, alpha, gamma, n);
}

__global__ void FN(tanh_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = tanh_forward_one(x[i]);
}
extern "C" void FN(tanh_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(tanh_forward_kernel), n, y, x, n);
}

__global__ void FN(tanh_backward_kernel)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = tanh_backward_one(dy[i], y[i]);
}
extern "C" void FN(tanh_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_EW_LAUNCH(FN(tanh_backward_kernel), n, dx, dy, y, n);
}

__global__ void FN(softplus_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = softplus_forward_one(x[i]);
}
extern "C" void FN(softplus_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(softplus_forward_kernel), n, y, x, n);
}

__global__ void FN(softplus_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = softplus_backward_one(dy[i], x[i]);
}
extern "C" void FN(softplus_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(softplus_backward_kernel), n, dx, dy, x, n);
}

__global__ void FN(softsign_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = softsign_forward_one(x[i]);
}
extern "C" void FN(softsign_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(softsign_forward_kernel), n, y, x, n);
}

__global__ void FN(softsign_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = softsign_backward_one(dy[i], x[i]);
}
extern "C" void FN(softsign_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(softsign_backward_kernel), n, dx, dy, x, n);
}

/* Softmax normalises `rows` = outer * inner vectors of `mid` elements each;
 * vector r = (o, i) starts at o * mid * inner + i and steps by inner.  One
 * block per vector (grid-stride over vectors); its threads stride over mid.
 *   y[m] = e^(x[m] - max) / sum_m' e^(x[m'] - max)   (max: no overflow) */
__global__ void FN(softmax_forward_kernel)(T *y, const T *x, int64_t outer, int64_t mid,
                                           int64_t inner)
{
    for (int64_t r = blockIdx.x; r < outer * inner; r += gridDim.x) {
        int64_t base = (r / inner) * mid * inner + r % inner;
        const T *xr = x + base;
        T *yr = y + base;
        /* 1. the maximum */
        T mx = xr[0];
        for (int64_t m = threadIdx.x; m < mid; m += blockDim.x)
            mx = xr[m * inner] > mx ? xr[m * inner] : mx;
        mx = ms_block_reduce<MsMax<T> >(mx);
        /* 2. the exponentials and their sum (in double, as the C kernel) */
        double sum = 0.0;
        for (int64_t m = threadIdx.x; m < mid; m += blockDim.x) {
            double e = exp((double)(xr[m * inner] - mx));
            yr[m * inner] = (T)e;
            sum += e;
        }
        sum = ms_block_reduce<MsSum<double> >(sum);
        /* 3. normalise (each thread rescales the elements it wrote) */
        for (int64_t m = threadIdx.x; m < mid; m += blockDim.x)
            yr[m * inner] = (T)((double)yr[m * inner] / sum);
    }
}

/* Blocks for one block per vector (grid-stride beyond the cap). */
static unsigned int ms_vector_blocks(int64_t rows)
{
    return (unsigned int)(rows < 65535 ? rows : 65535);
}

extern "C" void FN(softmax_forward)(T *y, const T *x, int64_t outer, int64_t mid, int64_t inner)
{
    if (outer * mid * inner > 0)
        MS_LAUNCH(FN(softmax_forward_kernel), ms_vector_blocks(outer * inner),
                  ms_row_threads(mid), y, x, outer, mid, inner);
}

/* dx[m] = y[m] * (dy[m] - sum_m' dy[m'] y[m'])   along mid, per vector */
__global__ void FN(softmax_backward_kernel)(T *dx, const T *dy, const T *y, int64_t outer,
                                            int64_t mid, int64_t inner)
{
    for (int64_t r = blockIdx.x; r < outer * inner; r += gridDim.x) {
        int64_t base = (r / inner) * mid * inner + r % inner;
        double dot = 0.0;
        for (int64_t m = threadIdx.x; m < mid; m += blockDim.x)
            dot += (double)dy[base + m * inner] * (double)y[base + m * inner];
        dot = ms_block_reduce<MsSum<double> >(dot);
        for (int64_t m = threadIdx.x; m < mid; m += blockDim.x)
            dx[base + m * inner] =
                y[base + m * inner] * (T)((double)dy[base + m * inner] - dot);
    }
}

extern "C" void FN(softmax_backward)(T *dx, const T *dy, const T *y, int64_t outer, int64_t mid,
                          int64_t inner)
{
    if (outer * mid * inner > 0)
        MS_LAUNCH(FN(softmax_backward_kernel), ms_vector_blocks(outer * inner),
                  ms_row_threads(mid), dx, dy, y, outer, mid, inner);
}
