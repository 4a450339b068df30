/* dist.c -- the kernels of data-parallel training (minisinga/dist.py, DistOpt):
 * gradients packed to float16 for the wire and added back, and gradients made
 * sparse (only the largest entries sent) with the rest kept as a residual.
 * Typed (f32, f64).  The communication itself is MPI's (mpi4py); these kernels
 * only prepare what is sent and fold in what arrives.
 *
 * float16 is IEEE binary16, stored as uint16_t bits; the conversions are the
 * compiler's _Float16 (round to nearest even; too large becomes +-inf). */
#include <math.h>
#include <string.h>
#include "minisinga.h"

/* h[i] = half(clamp(x[i], -clip, clip))     (no clamp when clip <= 0) */
void FN(to_half)(uint16_t *h, const T *x, T clip, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        T v = x[i];
        if (clip > 0)
            v = v > clip ? clip : (v < -clip ? -clip : v);
        _Float16 f = (_Float16)v;
        memcpy(&h[i], &f, sizeof f);
    }
}

/* y[i] += float(h[i])     (one rank's float16 gradient folded into the sum) */
void FN(add_half)(T *y, const uint16_t *h, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        _Float16 f;
        memcpy(&f, &h[i], sizeof f);
        y[i] += (T)f;
    }
}

/* The k-th largest |x[i]| (k from 1), by quickselect on a scratch copy of the
 * magnitudes (n elements).  Expected O(n); the pivot is the middle element. */
static T FN(kth_largest_abs)(T *s, const T *x, int64_t n, int64_t k)
{
    for (int64_t i = 0; i < n; i++)
        s[i] = fabs(x[i]);
    int64_t lo = 0, hi = n - 1, want = k - 1;   /* s sorted descending: s[want] */
    while (lo < hi) {
        T pivot = s[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (s[i] > pivot) i++;
            while (s[j] < pivot) j--;
            if (i <= j) {
                T t = s[i]; s[i] = s[j]; s[j] = t;
                i++; j--;
            }
        }
        if (want <= j) hi = j;
        else if (want >= i) lo = i;
        else break;
    }
    return s[want];
}

/* Choose the entries of x to send: with k > 0 the k largest in magnitude (ties
 * broken by index, the first ones win), else every entry with |x[i]| >= threshold.
 * Writes their indices and values (in index order) and returns how many.
 * With corr != 0, x is the residual-corrected gradient and the chosen entries
 * are zeroed in it, so what was not sent is kept for the next step.
 * scratch: n elements (only used when k > 0). */
int64_t FN(sparse_select)(int32_t *idx, T *val, T *x, T *scratch, T threshold, int64_t k,
                          int corr, int64_t n)
{
    int64_t ties = n;   /* how many entries equal to the cut may still be taken */
    if (k > 0) {
        if (k > n) k = n;
        threshold = FN(kth_largest_abs)(scratch, x, n, k);
        int64_t above = 0;
        for (int64_t i = 0; i < n; i++)
            above += fabs(x[i]) > threshold;
        ties = k - above;
    }
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        T a = fabs(x[i]);
        if (a > threshold || (a == threshold && ties-- > 0)) {
            idx[m] = (int32_t)i;
            val[m] = x[i];
            m++;
            if (corr)
                x[i] = 0;
        }
    }
    return m;
}

/* y[idx[j]] += val[j]  for j < m    (one rank's sparse gradient added in) */
void FN(sparse_add)(T *y, const int32_t *idx, const T *val, int64_t m)
{
    for (int64_t j = 0; j < m; j++)
        y[idx[j]] += val[j];
}
