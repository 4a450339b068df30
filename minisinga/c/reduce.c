/* reduce.c -- sums over an axis.  Typed (f32, f64).
 *
 * Any reduction over a group of adjacent axes is a reduction over the middle
 * axis of a 3-D view (outer, mid, inner); Python computes that view. */
#include "minisinga.h"
#include "ms_sum.h"

/* --8<-- [start:reduce_sum_forward] */
/* x: (outer, mid, inner), y: (outer, inner);  y[o, i] = scale * sum_m x[o, m, i]
 * (scale = 1 for a sum, 1/mid for a mean).  Row sums accumulate in double
 * (ms_sum.h). */
void FN(reduce_sum_forward)(T *y, const T *x, int64_t outer, int64_t mid, int64_t inner,
                            T scale)
{
    if (inner == 1) {
        /* the common case: row sums */
#pragma omp parallel for if (outer * mid > 65536)
        for (int64_t o = 0; o < outer; o++)
            y[o] = (T)(row_sum(x + o * mid, mid) * (double)scale);
        return;
    }
#pragma omp parallel for if (outer * mid * inner > 65536)
    for (int64_t o = 0; o < outer; o++) {
        T *yr = y + o * inner;
        for (int64_t i = 0; i < inner; i++)
            yr[i] = 0;
        /* walk x row by row so the inner loop is contiguous */
        for (int64_t m = 0; m < mid; m++) {
            const T *xr = x + (o * mid + m) * inner;
            for (int64_t i = 0; i < inner; i++)
                yr[i] += xr[i];
        }
        for (int64_t i = 0; i < inner; i++)
            yr[i] *= scale;
    }
}
/* --8<-- [end:reduce_sum_forward] */
