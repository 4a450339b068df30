/* activation.c -- activation functions and softmax.  Typed (f32, f64).
 * x, y, dx, dy: n elements (softmax: (outer, mid, inner), normalised over mid). */
#include <math.h>
#include "minisinga.h"

#define MS_PAR_MIN 32768
/* Below MS_PAR_MIN elements a loop runs on one thread.  The kernels that a small
 * model calls on every step test that themselves and run a plain loop, instead of
 * `#pragma omp parallel for if (...)`: with its condition false OpenMP still sets up
 * a one-thread team, about 0.4 us a call, which is more than such a loop itself
 * (a tiny MLP's training step makes 20 kernel calls). */

/* --8<-- [start:relu_forward] */
/* y = max(0, x);  NaN stays NaN (x < 0 is false for NaN), so a diverged
 * value is not silently turned into 0 */
void FN(relu_forward)(T *y, const T *x, int64_t n)
{
    if (n <= MS_PAR_MIN) { /* small: a plain loop (see MS_PAR_MIN) */
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] < 0 ? (T)0 : x[i];
        return;
    }
#pragma omp parallel for
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] < 0 ? (T)0 : x[i];
}
/* --8<-- [end:relu_forward] */

/* --8<-- [start:relu_backward] */
/* dx = dy * [x > 0]   (relu'(0) = 0) */
void FN(relu_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    if (n <= MS_PAR_MIN) { /* small: a plain loop (see MS_PAR_MIN) */
        for (int64_t i = 0; i < n; i++)
            dx[i] = x[i] > 0 ? dy[i] : (T)0;
        return;
    }
#pragma omp parallel for
    for (int64_t i = 0; i < n; i++)
        dx[i] = x[i] > 0 ? dy[i] : (T)0;
}
/* --8<-- [end:relu_backward] */

/* --8<-- [start:leakyrelu_forward] */
/* y = x if x >= 0 else a * x */
void FN(leakyrelu_forward)(T *y, const T *x, T a, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] >= 0 ? x[i] : a * x[i];
}
/* --8<-- [end:leakyrelu_forward] */

/* --8<-- [start:leakyrelu_backward] */
/* dx = dy if x >= 0 else a * dy   (slope 1 at x = 0) */
void FN(leakyrelu_backward)(T *dx, const T *dy, const T *x, T a, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dx[i] = x[i] >= 0 ? dy[i] : a * dy[i];
}
/* --8<-- [end:leakyrelu_backward] */

/* --8<-- [start:elu_forward] */
/* y = gamma * x if x > 0 else gamma * alpha * (e^x - 1)
 * (elu is gamma = 1; selu uses alpha = 1.67326, gamma = 1.0507) */
void FN(elu_forward)(T *y, const T *x, T alpha, T gamma, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] > 0 ? gamma * x[i] : gamma * alpha * (T)expm1((double)x[i]);
}
/* --8<-- [end:elu_forward] */

/* --8<-- [start:elu_backward] */
/* dx = gamma * dy if x > 0 else dy * gamma * alpha * e^x   (slope at 0 from the left) */
void FN(elu_backward)(T *dx, const T *dy, const T *x, T alpha, T gamma, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dx[i] = x[i] > 0 ? gamma * dy[i] : dy[i] * gamma * alpha * (T)exp((double)x[i]);
}
/* --8<-- [end:elu_backward] */

/* --8<-- [start:sigmoid_forward] */
/* y = 1 / (1 + e^-x), written so that e^(-x) never overflows */
void FN(sigmoid_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        double v = (double)x[i];
        if (v >= 0) {
            y[i] = (T)(1.0 / (1.0 + exp(-v)));
        } else {
            double e = exp(v);
            y[i] = (T)(e / (1.0 + e));
        }
    }
}
/* --8<-- [end:sigmoid_forward] */

/* --8<-- [start:sigmoid_backward] */
/* dx = dy * y * (1 - y)   (y saved) */
void FN(sigmoid_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        dx[i] = dy[i] * y[i] * ((T)1 - y[i]);
}
/* --8<-- [end:sigmoid_backward] */

/* --8<-- [start:hardsigmoid_forward] */
/* y = max(0, min(1, alpha * x + gamma)) */
void FN(hardsigmoid_forward)(T *y, const T *x, T alpha, T gamma, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        T v = alpha * x[i] + gamma;
        y[i] = v < 0 ? (T)0 : (v > 1 ? (T)1 : v);
    }
}
/* --8<-- [end:hardsigmoid_forward] */

/* --8<-- [start:hardsigmoid_backward] */
/* dx = alpha * dy where 0 < alpha x + gamma < 1, else 0 (0 at both kinks) */
void FN(hardsigmoid_backward)(T *dx, const T *dy, const T *x, T alpha, T gamma, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        T v = alpha * x[i] + gamma;
        dx[i] = (v > 0 && v < 1) ? alpha * dy[i] : (T)0;
    }
}
/* --8<-- [end:hardsigmoid_backward] */

/* --8<-- [start:tanh_forward] */
/* y = tanh(x) */
void FN(tanh_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)tanh((double)x[i]);
}
/* --8<-- [end:tanh_forward] */

/* --8<-- [start:tanh_backward] */
/* dx = dy * (1 - y^2)   (y saved) */
void FN(tanh_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        dx[i] = dy[i] * ((T)1 - y[i] * y[i]);
}
/* --8<-- [end:tanh_backward] */

/* --8<-- [start:softplus_forward] */
/* y = ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|)   (no overflow for large x) */
void FN(softplus_forward)(T *y, const T *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double v = (double)x[i];
        y[i] = (T)((v > 0 ? v : 0.0) + log1p(exp(-fabs(v))));
    }
}
/* --8<-- [end:softplus_forward] */

/* --8<-- [start:softplus_backward] */
/* dx = dy * sigmoid(x) */
void FN(softplus_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double v = (double)x[i];
        double s = v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
        dx[i] = (T)((double)dy[i] * s);
    }
}
/* --8<-- [end:softplus_backward] */

/* --8<-- [start:softsign_forward] */
/* y = x / (1 + |x|) */
void FN(softsign_forward)(T *y, const T *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] / ((T)1 + (x[i] < 0 ? -x[i] : x[i]));
}
/* --8<-- [end:softsign_forward] */

/* --8<-- [start:softsign_backward] */
/* dx = dy / (1 + |x|)^2 */
void FN(softsign_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        T d = (T)1 + (x[i] < 0 ? -x[i] : x[i]);
        dx[i] = dy[i] / (d * d);
    }
}
/* --8<-- [end:softsign_backward] */

/* --8<-- [start:softmax_forward] */
/* x, y: (outer, mid, inner); for every (o, i):
 *   y[o, m, i] = e^(x[o, m, i] - max) / sum_m' e^(x[o, m', i] - max)
 * Subtracting the max keeps every exponent <= 0 (no overflow). */
void FN(softmax_forward)(T *y, const T *x, int64_t outer, int64_t mid, int64_t inner)
{
#pragma omp parallel for if (outer * mid * inner > MS_PAR_MIN)
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            const T *xr = x + o * mid * inner + i;
            T *yr = y + o * mid * inner + i;
            T mx = xr[0];
            for (int64_t m = 1; m < mid; m++)
                mx = xr[m * inner] > mx ? xr[m * inner] : mx;
            double sum = 0.0;
            for (int64_t m = 0; m < mid; m++) {
                double e = exp((double)(xr[m * inner] - mx));
                yr[m * inner] = (T)e;
                sum += e;
            }
            for (int64_t m = 0; m < mid; m++)
                yr[m * inner] = (T)((double)yr[m * inner] / sum);
        }
    }
}
/* --8<-- [end:softmax_forward] */

/* --8<-- [start:softmax_backward] */
/* dx[m] = y[m] * (dy[m] - sum_m' dy[m'] y[m'])   along mid, for every (o, i) */
void FN(softmax_backward)(T *dx, const T *dy, const T *y, int64_t outer, int64_t mid,
                          int64_t inner)
{
#pragma omp parallel for if (outer * mid * inner > MS_PAR_MIN)
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * mid * inner + i;
            double dot = 0.0;
            for (int64_t m = 0; m < mid; m++)
                dot += (double)dy[base + m * inner] * (double)y[base + m * inner];
            for (int64_t m = 0; m < mid; m++)
                dx[base + m * inner] = y[base + m * inner] * (T)((double)dy[base + m * inner] - dot);
        }
    }
}
/* --8<-- [end:softmax_backward] */
