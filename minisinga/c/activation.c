/* activation.c -- activation functions and softmax.  Typed (f32, f64).
 * x, y, dx, dy: n elements (softmax: (outer, mid, inner), normalised over mid). */
#include <math.h>
#include "minisinga.h"
#include "ms_parallel.h"
#include "pointwise.h"


void FN(relu_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = relu_forward_one(x[i]));
}

void FN(relu_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = relu_backward_one(dy[i], x[i]));
}

void FN(leakyrelu_forward)(T *y, const T *x, T a, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = leakyrelu_forward_one(x[i], a));
}

void FN(leakyrelu_backward)(T *dx, const T *dy, const T *x, T a, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = leakyrelu_backward_one(dy[i], x[i], a));
}

void FN(elu_forward)(T *y, const T *x, T alpha, T gamma, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = elu_forward_one(x[i], alpha, gamma));
}

void FN(elu_backward)(T *dx, const T *dy, const T *x, T alpha, T gamma, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = elu_backward_one(dy[i], x[i], alpha, gamma));
}

void FN(sigmoid_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = sigmoid_forward_one(x[i]));
}

void FN(sigmoid_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = sigmoid_backward_one(dy[i], y[i]));
}

void FN(hardsigmoid_forward)(T *y, const T *x, T alpha, T gamma, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = hardsigmoid_forward_one(x[i], alpha, gamma));
}

void FN(hardsigmoid_backward)(T *dx, const T *dy, const T *x, T alpha, T gamma, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = hardsigmoid_backward_one(dy[i], x[i], alpha, gamma));
}

void FN(tanh_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = tanh_forward_one(x[i]));
}

void FN(tanh_backward)(T *dx, const T *dy, const T *y, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = tanh_backward_one(dy[i], y[i]));
}

void FN(softplus_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = softplus_forward_one(x[i]));
}

void FN(softplus_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = softplus_backward_one(dy[i], x[i]));
}

void FN(softsign_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = softsign_forward_one(x[i]));
}

void FN(softsign_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, dx[i] = softsign_backward_one(dy[i], x[i]));
}

/* x, y: (outer, mid, inner); for every (o, i):
 *   y[o, m, i] = e^(x[o, m, i] - max) / sum_m' e^(x[o, m', i] - max)
 * Subtracting the max keeps every exponent <= 0 (no overflow). */
void FN(softmax_forward)(T *y, const T *x, int64_t outer, int64_t mid, int64_t inner)
{
    MS_PARALLEL_FOR_WORK(o, outer, outer * mid * inner, {
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
    });
}

/* dx[m] = y[m] * (dy[m] - sum_m' dy[m'] y[m'])   along mid, for every (o, i) */
void FN(softmax_backward)(T *dx, const T *dy, const T *y, int64_t outer, int64_t mid,
                          int64_t inner)
{
    MS_PARALLEL_FOR_WORK(o, outer, outer * mid * inner, {
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * mid * inner + i;
            double dot = 0.0;
            for (int64_t m = 0; m < mid; m++)
                dot += (double)dy[base + m * inner] * (double)y[base + m * inner];
            for (int64_t m = 0; m < mid; m++)
                dx[base + m * inner] = y[base + m * inner] * (T)((double)dy[base + m * inner] - dot);
        }
    });
}
