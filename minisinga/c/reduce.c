/* reduce.c -- sums over an axis.  Typed (f32, f64).
 *
 * Any reduction over a group of adjacent axes is a reduction over the middle
 * axis of a 3-D view (outer, mid, inner); Python computes that view. */
#include "minisinga.h"
#include "ms_parallel.h"
#include "ms_sum.h"

/* yr (inner) = scale * sum_m x[m, :] over the mid rows of x (mid, inner); walking x
 * row by row keeps the inner loop contiguous */
static void sum_rows(T *yr, const T *x, int64_t mid, int64_t inner, T scale)
{
    for (int64_t i = 0; i < inner; i++)
        yr[i] = 0;
    for (int64_t m = 0; m < mid; m++)
        for (int64_t i = 0; i < inner; i++)
            yr[i] += x[m * inner + i];
    for (int64_t i = 0; i < inner; i++)
        yr[i] *= scale;
}

/* x: (outer, mid, inner), y: (outer, inner);  y[o, i] = scale * sum_m x[o, m, i]
 * (scale = 1 for a sum, 1/mid for a mean).  Row sums accumulate in double
 * (ms_sum.h).  Small sums run a plain loop (ms_parallel.h). */
void FN(reduce_sum_forward)(T *y, const T *x, int64_t outer, int64_t mid, int64_t inner,
                            T scale)
{
    if (inner == 1) /* row sums */
        MS_PARALLEL_FOR_WORK(o, outer, outer * mid,
                             y[o] = (T)(row_sum(x + o * mid, mid) * (double)scale));
    else
        MS_PARALLEL_FOR_WORK(o, outer, outer * mid * inner,
                             sum_rows(y + o * inner, x + o * mid * inner, mid, inner, scale));
}
