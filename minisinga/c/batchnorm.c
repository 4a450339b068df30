/* batchnorm.c -- batch normalisation over (N, H, W), one set of statistics per channel.
 * Typed (f32, f64).
 *
 * x, y, dx, dy: (N, C, HW) (HW = H*W; 1 for a 2-D (N, C) input);
 * scale, bias, mean, invstd, running_mean, running_var, dscale, dbias: (C,).
 * Each channel c normalises its m = N*HW values x[:, c, :]:
 *   xhat = (x - mean[c]) * invstd[c],   y = scale[c] * xhat + bias[c].
 * Sums are accumulated in double, in 8 interleaved partial sums (ms_sum.h).
 * One thread per channel.
 */
#include <math.h>
#include "minisinga.h"
#include "ms_parallel.h"
#include "ms_sum.h"


/* Training: the batch statistics, and the running statistics updated in place.
 *   mean[c]   = (1/m) sum x
 *   var       = (1/m) sum (x - mean)^2          (biased: used to normalise)
 *   invstd[c] = 1 / sqrt(var + eps)
 *   running_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean
 *   running_var[c]  = (1 - momentum) * running_var[c]  + momentum * var * m / (m - 1)
 * (SINGA's / cuDNN's convention: momentum weights the NEW batch; the running
 * variance is the unbiased one.  Python checks m > 1.) */
void FN(batchnorm2d_forward_training)(T *y, T *mean, T *invstd, T *running_mean,
                                      T *running_var, const T *x, const T *scale,
                                      const T *bias, T momentum, T eps, int64_t N,
                                      int64_t C, int64_t HW)
{
    const int64_t m = N * HW;
    MS_PARALLEL_FOR_WORK(c, C, N * C * HW, {
        double sum = 0.0;
        for (int64_t n = 0; n < N; n++)
            sum += row_sum(x + (n * C + c) * HW, HW);
        const double mu = sum / (double)m;
        double sq = 0.0; /* two passes: no cancellation in E[x^2] - E[x]^2 */
        for (int64_t n = 0; n < N; n++)
            sq += row_sq_dev(x + (n * C + c) * HW, HW, mu);
        const double var = sq / (double)m;
        const double is = 1.0 / sqrt(var + (double)eps);
        mean[c] = (T)mu;
        invstd[c] = (T)is;
        const double mo = (double)momentum;
        running_mean[c] = (T)((1.0 - mo) * (double)running_mean[c] + mo * mu);
        running_var[c] = (T)((1.0 - mo) * (double)running_var[c]
                             + mo * var * (double)m / (double)(m - 1));
        /* y = scale * (x - mean) * invstd + bias  =  a * x + b */
        const T a = (T)((double)scale[c] * is);
        const T b = (T)((double)bias[c] - (double)scale[c] * is * mu);
        for (int64_t n = 0; n < N; n++) {
            const T *xr = x + (n * C + c) * HW;
            T *yr = y + (n * C + c) * HW;
            for (int64_t k = 0; k < HW; k++)
                yr[k] = a * xr[k] + b;
        }
    });
}

/* Inference: normalise with the running statistics (and save them for backward).
 *   mean[c] = running_mean[c],  invstd[c] = 1 / sqrt(running_var[c] + eps)
 *   y = scale * (x - mean) * invstd + bias */
void FN(batchnorm2d_forward_inference)(T *y, T *mean, T *invstd, const T *x,
                                       const T *scale, const T *bias,
                                       const T *running_mean, const T *running_var, T eps,
                                       int64_t N, int64_t C, int64_t HW)
{
    MS_PARALLEL_FOR_WORK(c, C, N * C * HW, {
        const double mu = (double)running_mean[c];
        const double is = 1.0 / sqrt((double)running_var[c] + (double)eps);
        mean[c] = (T)mu;
        invstd[c] = (T)is;
        const T a = (T)((double)scale[c] * is);
        const T b = (T)((double)bias[c] - (double)scale[c] * is * mu);
        for (int64_t n = 0; n < N; n++) {
            const T *xr = x + (n * C + c) * HW;
            T *yr = y + (n * C + c) * HW;
            for (int64_t k = 0; k < HW; k++)
                yr[k] = a * xr[k] + b;
        }
    });
}

/* Backward, per channel c, with xhat = (x - mean) * invstd and m = N*HW:
 *   dbias[c]  = sum dy
 *   dscale[c] = sum dy * xhat
 *   training:   dx = scale * invstd * (dy - (dbias + xhat * dscale) / m)
 *               (term 1: dy itself; term 2: through the mean; term 3: through the variance)
 *   inference:  dx = scale * invstd * dy   (mean and invstd are constants) */
void FN(batchnorm2d_backward)(T *dx, T *dscale, T *dbias, const T *dy, const T *x,
                              const T *scale, const T *mean, const T *invstd, int training,
                              int64_t N, int64_t C, int64_t HW)
{
    const int64_t m = N * HW;
    MS_PARALLEL_FOR_WORK(c, C, N * C * HW, {
        const double mu = (double)mean[c], is = (double)invstd[c];
        double sdy = 0.0, sdyx = 0.0;
        for (int64_t n = 0; n < N; n++) {
            double s, d; /* both sums in one pass (ms_sum.h) */
            row_sum_and_dot_dev(&s, &d, dy + (n * C + c) * HW, x + (n * C + c) * HW, HW, mu);
            sdy += s;
            sdyx += d;
        }
        sdyx *= is;
        dbias[c] = (T)sdy;
        dscale[c] = (T)sdyx;
        const double k1 = (double)scale[c] * is;              /* term 1 factor */
        const double k2 = training ? sdy / (double)m : 0.0;   /* term 2 */
        const double k3 = training ? sdyx / (double)m : 0.0;  /* term 3 */
        for (int64_t n = 0; n < N; n++) {
            const T *xr = x + (n * C + c) * HW;
            const T *gr = dy + (n * C + c) * HW;
            T *dr = dx + (n * C + c) * HW;
            for (int64_t k = 0; k < HW; k++) {
                double xhat = ((double)xr[k] - mu) * is;
                dr[k] = (T)(k1 * ((double)gr[k] - k2 - xhat * k3));
            }
        }
    });
}
