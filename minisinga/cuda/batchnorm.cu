/* batchnorm.cu -- the CUDA twins of minisinga/c/batchnorm.c: batch
 * normalisation over (N, H, W), one set of statistics per channel.  Typed (f32, f64).
 *
 * x, y, dx, dy: (N, C, HW); scale, bias, mean, invstd, running_mean,
 * running_var, dscale, dbias: (C,).  Channel c normalises its m = N*HW values
 * x[:, c, :]: xhat = (x - mean[c]) * invstd[c],  y = scale[c] * xhat + bias[c].
 *
 * One block per channel (grid-stride over channels); its threads stride over
 * the channel's m values (element e is x[e / HW, c, e % HW]) and meet in
 * ms_block_reduce (warp shuffles, fixed order: the same bits on every run).
 * Sums in double, as in C; thread 0 writes the per-channel results. */
#include "ms_cuda.h"

/* the e-th value of channel c, e in [0, N*HW) */
#define MS_BN_AT(buf, e) (buf)[((e) / HW * C + c) * HW + (e) % HW]

static unsigned int ms_channel_blocks(int64_t C)
{
    return (unsigned int)(C < 65535 ? C : 65535);
}

/* Training: the batch statistics, and the running statistics updated in place.
 *   mean[c]   = (1/m) sum x
 *   var       = (1/m) sum (x - mean)^2          (biased: used to normalise)
 *   invstd[c] = 1 / sqrt(var + eps)
 *   running_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean
 *   running_var[c]  = (1 - momentum) * running_var[c]  + momentum * var * m / (m - 1) */
__global__ void FN(batchnorm2d_forward_training_kernel)(T *y, T *mean, T *invstd,
                                                        T *running_mean, T *running_var,
                                                        const T *x, const T *scale,
                                                        const T *bias, T momentum, T eps,
                                                        int64_t N, int64_t C, int64_t HW)
{
    const int64_t m = N * HW;
    for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
        double sum = 0.0;
        for (int64_t e = threadIdx.x; e < m; e += blockDim.x)
            sum += (double)MS_BN_AT(x, e);
        const double mu = ms_block_reduce<MsSum<double> >(sum) / (double)m;
        double sq = 0.0; /* two passes: no cancellation in E[x^2] - E[x]^2 */
        for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
            double d = (double)MS_BN_AT(x, e) - mu;
            sq += d * d;
        }
        const double var = ms_block_reduce<MsSum<double> >(sq) / (double)m;
        const double is = 1.0 / sqrt(var + (double)eps);
        if (threadIdx.x == 0) {
            mean[c] = (T)mu;
            invstd[c] = (T)is;
            const double mo = (double)momentum;
            running_mean[c] = (T)((1.0 - mo) * (double)running_mean[c] + mo * mu);
            running_var[c] = (T)((1.0 - mo) * (double)running_var[c]
                                 + mo * var * (double)m / (double)(m - 1));
        }
        /* y = scale * (x - mean) * invstd + bias  =  a * x + b */
        const T a = (T)((double)scale[c] * is);
        const T b = (T)((double)bias[c] - (double)scale[c] * is * mu);
        for (int64_t e = threadIdx.x; e < m; e += blockDim.x)
            MS_BN_AT(y, e) = a * MS_BN_AT(x, e) + b;
    }
}
extern "C" void FN(batchnorm2d_forward_training)(T *y, T *mean, T *invstd, T *running_mean,
                                                 T *running_var, const T *x, const T *scale,
                                                 const T *bias, T momentum, T eps, int64_t N,
                                                 int64_t C, int64_t HW)
{
    if (C > 0 && N * HW > 0)
        MS_LAUNCH(FN(batchnorm2d_forward_training_kernel), ms_channel_blocks(C),
                  ms_row_threads(N * HW), y, mean, invstd, running_mean, running_var, x, scale,
                  bias, momentum, eps, N, C, HW);
}

/* Inference: normalise with the running statistics (and save them for backward).
 *   mean[c] = running_mean[c],  invstd[c] = 1 / sqrt(running_var[c] + eps)
 *   y = scale * (x - mean) * invstd + bias */
__global__ void FN(batchnorm2d_forward_inference_kernel)(T *y, T *mean, T *invstd, const T *x,
                                                         const T *scale, const T *bias,
                                                         const T *running_mean,
                                                         const T *running_var, T eps,
                                                         int64_t N, int64_t C, int64_t HW)
{
    const int64_t m = N * HW;
    for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
        const double mu = (double)running_mean[c];
        const double is = 1.0 / sqrt((double)running_var[c] + (double)eps);
        if (threadIdx.x == 0) {
            mean[c] = (T)mu;
            invstd[c] = (T)is;
        }
        const T a = (T)((double)scale[c] * is);
        const T b = (T)((double)bias[c] - (double)scale[c] * is * mu);
        for (int64_t e = threadIdx.x; e < m; e += blockDim.x)
            MS_BN_AT(y, e) = a * MS_BN_AT(x, e) + b;
    }
}
extern "C" void FN(batchnorm2d_forward_inference)(T *y, T *mean, T *invstd, const T *x,
                                                  const T *scale, const T *bias,
                                                  const T *running_mean, const T *running_var,
                                                  T eps, int64_t N, int64_t C, int64_t HW)
{
    if (C > 0)
        MS_LAUNCH(FN(batchnorm2d_forward_inference_kernel), ms_channel_blocks(C),
                  ms_row_threads(N * HW), y, mean, invstd, x, scale, bias, running_mean,
                  running_var, eps, N, C, HW);
}

/* Backward, per channel c, with xhat = (x - mean) * invstd and m = N*HW:
 *   dbias[c]  = sum dy
 *   dscale[c] = sum dy * xhat
 *   training:   dx = scale * invstd * (dy - (dbias + xhat * dscale) / m)
 *               (term 1: dy itself; term 2: through the mean; term 3: through the variance)
 *   inference:  dx = scale * invstd * dy   (mean and invstd are constants) */
__global__ void FN(batchnorm2d_backward_kernel)(T *dx, T *dscale, T *dbias, const T *dy,
                                                const T *x, const T *scale, const T *mean,
                                                const T *invstd, int training, int64_t N,
                                                int64_t C, int64_t HW)
{
    const int64_t m = N * HW;
    for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
        const double mu = (double)mean[c], is = (double)invstd[c];
        double sdy = 0.0, sdyx = 0.0;
        for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
            double g = (double)MS_BN_AT(dy, e);
            sdy += g;
            sdyx += g * ((double)MS_BN_AT(x, e) - mu) * is;
        }
        sdy = ms_block_reduce<MsSum<double> >(sdy);
        sdyx = ms_block_reduce<MsSum<double> >(sdyx);
        if (threadIdx.x == 0) {
            dbias[c] = (T)sdy;
            dscale[c] = (T)sdyx;
        }
        const double k1 = (double)scale[c] * is;              /* term 1 factor */
        const double k2 = training ? sdy / (double)m : 0.0;   /* term 2 */
        const double k3 = training ? sdyx / (double)m : 0.0;  /* term 3 */
        for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
            double xhat = ((double)MS_BN_AT(x, e) - mu) * is;
            MS_BN_AT(dx, e) = (T)(k1 * ((double)MS_BN_AT(dy, e) - k2 - xhat * k3));
        }
    }
}
extern "C" void FN(batchnorm2d_backward)(T *dx, T *dscale, T *dbias, const T *dy, const T *x,
                                         const T *scale, const T *mean, const T *invstd,
                                         int training, int64_t N, int64_t C, int64_t HW)
{
    if (C > 0)
        MS_LAUNCH(FN(batchnorm2d_backward_kernel), ms_channel_blocks(C), ms_row_threads(N * HW),
                  dx, dscale, dbias, dy, x, scale, mean, invstd, training, N, C, HW);
}
