/* loss.c -- the losses.  Typed (f32, f64).  Each loss is a mean over the
 * batch of N rows; `loss` points at one element.
 *
 * Determinism: a threaded sum must not depend on the number of threads
 * (`reduction(+ : total)` adds the per-thread partials in an unspecified order,
 * so 1 and 2 threads gave different float64 losses).  The batch is cut into
 * MS_LOSS_CHUNKS fixed chunks whatever the thread count; each chunk is summed
 * in order by one thread, and the chunk sums are added in order afterwards. */
#include <math.h>
#include "minisinga.h"
#include "ms_parallel.h"

#define MS_LOSS_CHUNKS 64

/* rows [n0, n1) of softmax_cross_entropy_index_forward: p, and the sum of their
 * losses.  One exp per value: p = exp(x - max) / sum reuses the exps of the sum. */
static double ce_index_rows(T *p, const T *x, const int32_t *t, int64_t C, int64_t n0,
                            int64_t n1)
{
    double part = 0.0;
    for (int64_t n = n0; n < n1; n++) {
        const T *xr = x + n * C;
        T *pr = p + n * C;
        T mx = xr[0];
        for (int64_t c = 1; c < C; c++)
            mx = xr[c] > mx ? xr[c] : mx;
        double sum = 0.0;
        for (int64_t c = 0; c < C; c++) {
            const double e = exp((double)(xr[c] - mx));
            pr[c] = (T)e; /* exp(x - max), made p below */
            sum += e;
        }
        const double lse = (double)mx + log(sum), inv_sum = 1.0 / sum;
        for (int64_t c = 0; c < C; c++)
            pr[c] = (T)((double)pr[c] * inv_sum); /* p = exp(x - max) / sum */
        /* Python checks the labels; a graph replay feeds new ones without
         * Python, so a label outside [0, C) gives NaN, never a wild read */
        part += (t[n] >= 0 && t[n] < C) ? lse - (double)xr[t[n]] : NAN;
    }
    return part;
}

/* x: (N, C) logits, t: (N,) class indices (int32, checked in Python),
 * p: (N, C) softmax(x), saved for backward.
 *   loss = -1/N sum_n log p[n, t_n],
 *   log p[n, c] = x[n, c] - max_n - log sum_c' e^(x[n, c'] - max_n)   (log-sum-exp) */
void FN(softmax_cross_entropy_index_forward)(T *loss, T *p, const T *x, const int32_t *t,
                                             int64_t N, int64_t C)
{
    /* the rows in MS_LOSS_CHUNKS fixed chunks, each chunk's losses summed in order,
     * then the chunks in order: the same bits on any number of threads.  Small
     * batches run the chunks in a plain loop (see ms_parallel.h). */
    double part[MS_LOSS_CHUNKS] = {0.0};
    const int64_t chunk = (N + MS_LOSS_CHUNKS - 1) / MS_LOSS_CHUNKS;
    MS_PARALLEL_FOR_WORK(k, MS_LOSS_CHUNKS, N * C,
                         part[k] = ce_index_rows(p, x, t, C, k * chunk < N ? k * chunk : N,
                                                 (k + 1) * chunk < N ? (k + 1) * chunk : N));
    double total = 0.0;
    for (int k = 0; k < MS_LOSS_CHUNKS; k++)
        total += part[k];
    loss[0] = (T)(total / (double)N);
}

/* dx[n, c] = dy * (p[n, c] - [c == t_n]) / N */
void FN(softmax_cross_entropy_index_backward)(T *dx, const T *dy, const T *p, const int32_t *t,
                                              int64_t N, int64_t C)
{
    T s = dy[0] / (T)N;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            dx[n * C + c] = s * (p[n * C + c] - (c == t[n] ? (T)1 : (T)0));
}

/* rows [n0, n1) of softmax_cross_entropy_dense_forward: p, q, and the sum of their
 * losses */
static double ce_dense_rows(T *p, T *q, const T *x, const T *t, int64_t C, int64_t n0,
                            int64_t n1)
{
    double part = 0.0;
    for (int64_t n = n0; n < n1; n++) {
        const T *xr = x + n * C, *tr = t + n * C;
        T *pr = p + n * C, *qr = q + n * C;
        T mx = xr[0];
        double tsum = 0.0;
        for (int64_t c = 0; c < C; c++) {
            mx = xr[c] > mx ? xr[c] : mx;
            tsum += (double)tr[c];
        }
        double sum = 0.0;
        for (int64_t c = 0; c < C; c++) {
            const double e = exp((double)(xr[c] - mx));
            pr[c] = (T)e; /* exp(x - max), made p below */
            sum += e;
        }
        double lse = (double)mx + log(sum);
        /* one division per row, then products (a division costs ~4 multiplies) */
        const double inv_sum = 1.0 / sum, inv_tsum = tsum != 0.0 ? 1.0 / tsum : 0.0;
        double row = 0.0;
        for (int64_t c = 0; c < C; c++) {
            double logp = (double)xr[c] - lse;
            double qc = (double)tr[c] * inv_tsum;
            pr[c] = (T)((double)pr[c] * inv_sum); /* p = exp(x - max) / sum: no second exp */
            qr[c] = (T)qc;
            if (qc != 0.0)
                row -= qc * logp;
        }
        part += row;
    }
    return part;
}

/* x: (N, C) logits, t: (N, C) target weights; each row of t is normalised to
 * sum to 1 (SINGA's rule) into q (saved); a row of t that sums to 0 gives q = 0.
 *   loss = -1/N sum_n sum_c q[n, c] log p[n, c] */
void FN(softmax_cross_entropy_dense_forward)(T *loss, T *p, T *q, const T *x, const T *t,
                                             int64_t N, int64_t C)
{
    /* the rows in MS_LOSS_CHUNKS fixed chunks, each chunk's losses summed in order,
     * then the chunks in order: the same bits on any number of threads.  Small
     * batches run the chunks in a plain loop (see ms_parallel.h). */
    double part[MS_LOSS_CHUNKS] = {0.0};
    const int64_t chunk = (N + MS_LOSS_CHUNKS - 1) / MS_LOSS_CHUNKS;
    MS_PARALLEL_FOR_WORK(k, MS_LOSS_CHUNKS, N * C,
                         part[k] = ce_dense_rows(p, q, x, t, C, k * chunk < N ? k * chunk : N,
                                                 (k + 1) * chunk < N ? (k + 1) * chunk : N));
    double total = 0.0;
    for (int k = 0; k < MS_LOSS_CHUNKS; k++)
        total += part[k];
    loss[0] = (T)(total / (double)N);
}

/* dx[n, c] = dy * (p[n, c] * sum_c' q[n, c'] - q[n, c]) / N
 * (sum_c' q = 1 for a normalised row, 0 for an all-zero target row) */
void FN(softmax_cross_entropy_dense_backward)(T *dx, const T *dy, const T *p, const T *q,
                                              int64_t N, int64_t C)
{
    T s = dy[0] / (T)N;
    for (int64_t n = 0; n < N; n++) {
        T qsum = 0;
        for (int64_t c = 0; c < C; c++)
            qsum += q[n * C + c];
        for (int64_t c = 0; c < C; c++)
            dx[n * C + c] = s * (p[n * C + c] * qsum - q[n * C + c]);
    }
}

/* x: (N, C) probabilities, t: (N, C) targets.  loss = -1/N sum t log x */
void FN(cross_entropy_forward)(T *loss, const T *x, const T *t, int64_t N, int64_t C)
{
    double total = 0.0;
    for (int64_t i = 0; i < N * C; i++)
        if (t[i] != (T)0)
            total -= (double)t[i] * log((double)x[i]);
    loss[0] = (T)(total / (double)N);
}

/* dx = -dy * t / x / N, and 0 where t == 0: the forward skips those terms
 * (0 * log 0 is taken as 0), so they contribute nothing, even at x == 0. */
void FN(cross_entropy_backward)(T *dx, const T *dy, const T *x, const T *t, int64_t N, int64_t C)
{
    T s = -dy[0] / (T)N;
    for (int64_t i = 0; i < N * C; i++)
        dx[i] = (t[i] == (T)0) ? (T)0 : s * t[i] / x[i];
}

/* x, t: n elements in N rows.  SINGA's smoothed form (eps = 1e-4 keeps the
 * logs finite at x = 0 and x = 1):
 *   loss = -1/N sum [t log(x + eps) + (1 - t) log(1 + eps - x)] */
void FN(binary_cross_entropy_forward)(T *loss, const T *x, const T *t, int64_t n, int64_t N)
{
    const double eps = 1e-4;
    double total = 0.0;
    for (int64_t i = 0; i < n; i++)
        total -= (double)t[i] * log((double)x[i] + eps)
                 + (1.0 - (double)t[i]) * log(1.0 + eps - (double)x[i]);
    loss[0] = (T)(total / (double)N);
}

/* dx = -dy / N * (t / (x + eps) - (1 - t) / (1 + eps - x)) */
void FN(binary_cross_entropy_backward)(T *dx, const T *dy, const T *x, const T *t, int64_t n,
                                       int64_t N)
{
    const double eps = 1e-4;
    double s = -(double)dy[0] / (double)N;
    for (int64_t i = 0; i < n; i++)
        dx[i] = (T)(s * ((double)t[i] / ((double)x[i] + eps)
                         - (1.0 - (double)t[i]) / (1.0 + eps - (double)x[i])));
}

/* loss = 1/n sum (x - t)^2   (SINGA: a mean over every element, no 1/2) */
void FN(mse_loss_forward)(T *loss, const T *x, const T *t, int64_t n)
{
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)x[i] - (double)t[i];
        total += d * d;
    }
    loss[0] = (T)(total / (double)n);
}

/* dx = dy * 2 (x - t) / n */
void FN(mse_loss_backward)(T *dx, const T *dy, const T *x, const T *t, int64_t n)
{
    T s = (T)2 * dy[0] / (T)n;
    for (int64_t i = 0; i < n; i++)
        dx[i] = s * (x[i] - t[i]);
}
