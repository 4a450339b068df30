/* loss.cu -- the CUDA twins of minisinga/c/loss.c.  Typed (f32, f64).
 *
 * A loss is one element on the device: the mean over the batch.  Forward
 * kernels sum over the whole batch in two deterministic passes:
 *   1. `blocks` blocks (at most MS_PARTIALS) each add up their share of rows
 *      (or elements) in double and store one partial sum in ms_partials;
 *   2. loss_finish_kernel, one block, adds the partials in a fixed order and
 *      writes loss[0] = total / divisor.
 * (Launches on one stream run in order, so the partials are never shared by
 * two losses at once -- as long as one host thread launches them: two threads
 * calling loss launchers on one GPU together could interleave their passes.
 * minisinga runs kernels from one thread.)  Backward kernels are elementwise;
 * their scalar dy is read on the host, as in C. */
#include "ms_cuda.h"

static __device__ double ms_partials[MS_PARTIALS];

/* loss[0] = (partials[0] + ... + partials[nparts - 1]) / divisor */
__global__ void FN(loss_finish_kernel)(T *loss, int nparts, double divisor)
{
    double acc = 0.0;
    for (int b = threadIdx.x; b < nparts; b += blockDim.x)
        acc += ms_partials[b];
    acc = ms_block_reduce<MsSum<double> >(acc);
    if (threadIdx.x == 0)
        loss[0] = (T)(acc / divisor);
}

static void FN(loss_finish)(T *loss, int nparts, double divisor)
{
    MS_LAUNCH(FN(loss_finish_kernel), 1, MS_THREADS, loss, nparts, divisor);
}

/* Blocks for pass 1 over `work` rows or elements, each block `per` of them. */
static int ms_partial_blocks(int64_t work, int64_t per)
{
    int64_t b = (work + per - 1) / per;
    return (int)(b < MS_PARTIALS ? b : MS_PARTIALS);
}

/* ------------------------------------------------- softmax cross-entropy */

/* x: (N, C) logits, t: (N,) class indices, p: (N, C) softmax(x) (saved).
 * One block per row (grid-stride over rows):
 *   lse = max + log sum_c e^(x[c] - max);  p[c] = e^(x[c] - lse)
 *   row loss = lse - x[t_n]
 * A label outside [0, C) gives a NaN loss here (Python checks labels on the
 * CPU; reading outside the row would be worse). */
__global__ void FN(softmax_cross_entropy_index_forward_kernel)(T *p, const T *x,
                                                               const int32_t *t, int64_t N,
                                                               int64_t C)
{
    double part = 0.0;
    for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
        const T *xr = x + n * C;
        T *pr = p + n * C;
        T mx = xr[0];
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
            mx = xr[c] > mx ? xr[c] : mx;
        mx = ms_block_reduce<MsMax<T> >(mx);
        double sum = 0.0;
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
            sum += exp((double)(xr[c] - mx));
        sum = ms_block_reduce<MsSum<double> >(sum);
        double lse = (double)mx + log(sum);
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
            pr[c] = (T)exp((double)xr[c] - lse);
        if (threadIdx.x == 0) {
            int32_t label = t[n];
            part += (label >= 0 && label < C) ? lse - (double)xr[label] : nan("");
        }
    }
    if (threadIdx.x == 0)
        ms_partials[blockIdx.x] = part;
}

extern "C" void FN(softmax_cross_entropy_index_forward)(T *loss, T *p, const T *x, const int32_t *t,
                                             int64_t N, int64_t C)
{
    if (N <= 0 || C <= 0)
        return;
    int blocks = ms_partial_blocks(N, 1);
    MS_LAUNCH(FN(softmax_cross_entropy_index_forward_kernel), blocks, ms_row_threads(C),
              p, x, t, N, C);
    FN(loss_finish)(loss, blocks, (double)N);
}

/* dx[n, c] = s * (p[n, c] - [c == t_n]),  s = dy / N */
__global__ void FN(softmax_cross_entropy_index_backward_kernel)(T *dx, const T *dy,
                                                                const T *p, const int32_t *t,
                                                                int64_t N, int64_t C)
{
    T s = dy[0] / (T)N;
    MS_FOR_EACH(i, N * C) {
        int64_t n = i / C, c = i % C;
        dx[i] = s * (p[i] - (c == t[n] ? (T)1 : (T)0));
    }
}

extern "C" void FN(softmax_cross_entropy_index_backward)(T *dx, const T *dy, const T *p, const int32_t *t,
                                              int64_t N, int64_t C)
{
    if (N * C > 0)
        MS_LAUNCH(FN(softmax_cross_entropy_index_backward_kernel), ms_blocks(N * C),
                  MS_THREADS, dx, dy, p, t, N, C);
}

/* x: (N, C) logits, t: (N, C) target weights, normalised per row into q
 * (saved; a row summing to 0 gives q = 0).  One block per row:
 *   row loss = -sum_c q[c] log p[c],  log p[c] = x[c] - lse */
__global__ void FN(softmax_cross_entropy_dense_forward_kernel)(T *p, T *q, const T *x,
                                                               const T *t, int64_t N,
                                                               int64_t C)
{
    double part = 0.0;
    for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
        const T *xr = x + n * C, *tr = t + n * C;
        T *pr = p + n * C, *qr = q + n * C;
        T mx = xr[0];
        double tsum = 0.0;
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
            mx = xr[c] > mx ? xr[c] : mx;
            tsum += (double)tr[c];
        }
        mx = ms_block_reduce<MsMax<T> >(mx);
        tsum = ms_block_reduce<MsSum<double> >(tsum);
        double sum = 0.0;
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
            sum += exp((double)(xr[c] - mx));
        sum = ms_block_reduce<MsSum<double> >(sum);
        double lse = (double)mx + log(sum);
        double row = 0.0;
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
            double logp = (double)xr[c] - lse;
            double qc = tsum != 0.0 ? (double)tr[c] / tsum : 0.0;
            pr[c] = (T)exp(logp);
            qr[c] = (T)qc;
            if (qc != 0.0)
                row -= qc * logp;
        }
        row = ms_block_reduce<MsSum<double> >(row);
        part += row; /* the same value in every thread; thread 0 stores it */
    }
    if (threadIdx.x == 0)
        ms_partials[blockIdx.x] = part;
}

extern "C" void FN(softmax_cross_entropy_dense_forward)(T *loss, T *p, T *q, const T *x, const T *t,
                                             int64_t N, int64_t C)
{
    if (N <= 0 || C <= 0)
        return;
    int blocks = ms_partial_blocks(N, 1);
    MS_LAUNCH(FN(softmax_cross_entropy_dense_forward_kernel), blocks, ms_row_threads(C),
              p, q, x, t, N, C);
    FN(loss_finish)(loss, blocks, (double)N);
}

/* dx[n, c] = s * (p[n, c] * sum_c' q[n, c'] - q[n, c]),  s = dy / N.
 * One block per row (the row sum of q first). */
__global__ void FN(softmax_cross_entropy_dense_backward_kernel)(T *dx, const T *dy,
                                                                const T *p, const T *q,
                                                                int64_t N, int64_t C)
{
    T s = dy[0] / (T)N;
    for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
        const T *pr = p + n * C, *qr = q + n * C;
        double qsum = 0.0;
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
            qsum += (double)qr[c];
        T qs = (T)ms_block_reduce<MsSum<double> >(qsum);
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
            dx[n * C + c] = s * (pr[c] * qs - qr[c]);
    }
}

extern "C" void FN(softmax_cross_entropy_dense_backward)(T *dx, const T *dy, const T *p, const T *q,
                                              int64_t N, int64_t C)
{
    if (N * C > 0)
        MS_LAUNCH(FN(softmax_cross_entropy_dense_backward_kernel),
                  (unsigned int)(N < 65535 ? N : 65535), ms_row_threads(C),
                  dx, dy, p, q, N, C);
}

/* ------------------------------------------------------ cross-entropy */

/* partial sums of -t log x over the n elements where t != 0 */
__global__ void FN(cross_entropy_forward_kernel)(const T *x, const T *t, int64_t n)
{
    double acc = 0.0;
    MS_FOR_EACH(i, n)
        if (t[i] != (T)0)
            acc -= (double)t[i] * log((double)x[i]);
    acc = ms_block_reduce<MsSum<double> >(acc);
    if (threadIdx.x == 0)
        ms_partials[blockIdx.x] = acc;
}

extern "C" void FN(cross_entropy_forward)(T *loss, const T *x, const T *t, int64_t N, int64_t C)
{
    if (N <= 0 || C <= 0)
        return;
    int blocks = ms_partial_blocks(N * C, MS_THREADS);
    MS_LAUNCH(FN(cross_entropy_forward_kernel), blocks, MS_THREADS, x, t, N * C);
    FN(loss_finish)(loss, blocks, (double)N);
}

/* dx = s * t / x,  s = -dy / N, and 0 where t == 0 (as the C kernel: the
 * forward skips those terms) */
__global__ void FN(cross_entropy_backward_kernel)(T *dx, const T *dy, const T *x, const T *t,
                                                  int64_t N, int64_t n)
{
    T s = -dy[0] / (T)N;
    MS_FOR_EACH(i, n)
        dx[i] = (t[i] == (T)0) ? (T)0 : s * t[i] / x[i];
}

extern "C" void FN(cross_entropy_backward)(T *dx, const T *dy, const T *x, const T *t, int64_t N, int64_t C)
{
    if (N * C > 0)
        MS_LAUNCH(FN(cross_entropy_backward_kernel), ms_blocks(N * C), MS_THREADS,
                  dx, dy, x, t, N, N * C);
}

/* ---------------------------------------------- binary cross-entropy */
/* SINGA's smoothed form, eps = 1e-4:
 *   loss = -1/N sum [t log(x + eps) + (1 - t) log(1 + eps - x)] */
__global__ void FN(binary_cross_entropy_forward_kernel)(const T *x, const T *t, int64_t n)
{
    const double eps = 1e-4;
    double acc = 0.0;
    MS_FOR_EACH(i, n)
        acc -= (double)t[i] * log((double)x[i] + eps)
               + (1.0 - (double)t[i]) * log(1.0 + eps - (double)x[i]);
    acc = ms_block_reduce<MsSum<double> >(acc);
    if (threadIdx.x == 0)
        ms_partials[blockIdx.x] = acc;
}

extern "C" void FN(binary_cross_entropy_forward)(T *loss, const T *x, const T *t, int64_t n, int64_t N)
{
    if (n <= 0)
        return;
    int blocks = ms_partial_blocks(n, MS_THREADS);
    MS_LAUNCH(FN(binary_cross_entropy_forward_kernel), blocks, MS_THREADS, x, t, n);
    FN(loss_finish)(loss, blocks, (double)N);
}

/* dx = s * (t / (x + eps) - (1 - t) / (1 + eps - x)),  s = -dy / N */
__global__ void FN(binary_cross_entropy_backward_kernel)(T *dx, const T *dy, const T *x,
                                                         const T *t, int64_t n, int64_t N)
{
    const double eps = 1e-4;
    double s = -(double)dy[0] / (double)N;
    MS_FOR_EACH(i, n)
        dx[i] = (T)(s * ((double)t[i] / ((double)x[i] + eps)
                         - (1.0 - (double)t[i]) / (1.0 + eps - (double)x[i])));
}

extern "C" void FN(binary_cross_entropy_backward)(T *dx, const T *dy, const T *x, const T *t, int64_t n,
                                       int64_t N)
{
    if (n > 0)
        MS_LAUNCH(FN(binary_cross_entropy_backward_kernel), ms_blocks(n), MS_THREADS,
                  dx, dy, x, t, n, N);
}

/* ------------------------------------------------ mean squared error */
/* loss = 1/n sum (x - t)^2 */
__global__ void FN(mse_loss_forward_kernel)(const T *x, const T *t, int64_t n)
{
    double acc = 0.0;
    MS_FOR_EACH(i, n) {
        double d = (double)x[i] - (double)t[i];
        acc += d * d;
    }
    acc = ms_block_reduce<MsSum<double> >(acc);
    if (threadIdx.x == 0)
        ms_partials[blockIdx.x] = acc;
}

extern "C" void FN(mse_loss_forward)(T *loss, const T *x, const T *t, int64_t n)
{
    if (n <= 0)
        return;
    int blocks = ms_partial_blocks(n, MS_THREADS);
    MS_LAUNCH(FN(mse_loss_forward_kernel), blocks, MS_THREADS, x, t, n);
    FN(loss_finish)(loss, blocks, (double)n);
}

/* dx = s * (x - t),  s = 2 dy / n */
__global__ void FN(mse_loss_backward_kernel)(T *dx, const T *dy, const T *x, const T *t,
                                             int64_t n)
{
    T s = (T)2 * dy[0] / (T)n;
    MS_FOR_EACH(i, n)
        dx[i] = s * (x[i] - t[i]);
}

extern "C" void FN(mse_loss_backward)(T *dx, const T *dy, const T *x, const T *t, int64_t n)
{
    if (n > 0)
        MS_LAUNCH(FN(mse_loss_backward_kernel), ms_blocks(n), MS_THREADS, dx, dy, x, t, n);
}
