/* ms_sum.h -- sums over a row, for the typed kernels: included by a kernel file
 * (after T is defined, so once per element type); not part of the Python interface,
 * which is minisinga.h alone.
 *
 * Why not `for (k) s += x[k]`: then every addition waits for the one before it
 * (4 cycles each), and the compiler may not reorder them itself, since that changes
 * the rounding.  So we reorder them, in one fixed way.
 */
#ifndef MS_SUM_H
#define MS_SUM_H

/* Sums over a row of n values, accumulated in double, in MS_SUM_LANES interleaved
 * partial sums (lane l takes k = l, l + MS_SUM_LANES, ...), added together at the
 * end.  Eight independent sums fill a vector register and run at the speed of the
 * loads.  The order is fixed, so the result does not depend on the machine or the
 * threads. */
#define MS_SUM_LANES 8

/* sum_k x[k] */
static double row_sum(const T *x, int64_t n)
{
    double acc[MS_SUM_LANES] = {0};
    int64_t k = 0;
    for (; k + MS_SUM_LANES <= n; k += MS_SUM_LANES)
        for (int l = 0; l < MS_SUM_LANES; l++)
            acc[l] += (double)x[k + l];
    for (; k < n; k++)
        acc[k % MS_SUM_LANES] += (double)x[k];
    double s = 0.0;
    for (int l = 0; l < MS_SUM_LANES; l++)
        s += acc[l];
    return s;
}

/* sum_k (x[k] - mu)^2 */
static double row_sq_dev(const T *x, int64_t n, double mu)
{
    double acc[MS_SUM_LANES] = {0};
    int64_t k = 0;
    for (; k + MS_SUM_LANES <= n; k += MS_SUM_LANES)
        for (int l = 0; l < MS_SUM_LANES; l++) {
            double d = (double)x[k + l] - mu;
            acc[l] += d * d;
        }
    for (; k < n; k++) {
        double d = (double)x[k] - mu;
        acc[k % MS_SUM_LANES] += d * d;
    }
    double s = 0.0;
    for (int l = 0; l < MS_SUM_LANES; l++)
        s += acc[l];
    return s;
}

/* The two sums of the batch norm's backward, in one pass over g and x:
 *   *sum = sum_k g[k],   *dot = sum_k g[k] * (x[k] - mu)
 * (*dot times invstd is sum_k g[k] * xhat[k]), each in the lanes of row_sum.
 * One pass, not row_sum and then a second pass for the dot: each lane of a sum is
 * a chain of additions, each waiting for the one before (n / 8 of them, about 4
 * cycles each), and two sums in one loop are two chains that run side by side.
 * `omp simd` asks for the lanes (l) as one vector: left to itself, GCC vectorised
 * the float64 loop across k instead, shuffling every value into place. */
static void row_sum_and_dot_dev(double *sum, double *dot, const T *g, const T *x, int64_t n,
                                double mu)
{
    double acc[MS_SUM_LANES] = {0}, accd[MS_SUM_LANES] = {0};
    int64_t k = 0;
    for (; k + MS_SUM_LANES <= n; k += MS_SUM_LANES) {
#pragma omp simd
        for (int l = 0; l < MS_SUM_LANES; l++) {
            acc[l] += (double)g[k + l];
            accd[l] += (double)g[k + l] * ((double)x[k + l] - mu);
        }
    }
    for (; k < n; k++) {
        acc[k % MS_SUM_LANES] += (double)g[k];
        accd[k % MS_SUM_LANES] += (double)g[k] * ((double)x[k] - mu);
    }
    double s = 0.0, d = 0.0;
    for (int l = 0; l < MS_SUM_LANES; l++) {
        s += acc[l];
        d += accd[l];
    }
    *sum = s;
    *dot = d;
}

#endif /* MS_SUM_H */
