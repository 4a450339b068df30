/* logic.c -- comparisons, logical operators and where.  Typed (f32, f64).
 *
 * a, b, x, y: compact buffers of n elements (Python broadcast them).  The
 * comparisons and logical operators write 1 for true and 0 for false in the
 * input's float type; a nonzero input counts as true.  They have no backward
 * (their output is piecewise constant).  where has one. */
#include "minisinga.h"
#include "ms_parallel.h"
#include "pointwise.h"


void FN(less_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = less_forward_one(a[i], b[i]));
}

void FN(greater_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = greater_forward_one(a[i], b[i]));
}

void FN(equal_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = equal_forward_one(a[i], b[i]));
}

void FN(and_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = and_forward_one(a[i], b[i]));
}

void FN(or_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = or_forward_one(a[i], b[i]));
}

void FN(xor_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = xor_forward_one(a[i], b[i]));
}

void FN(not_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = not_forward_one(x[i]));
}

void FN(where_forward)(T *y, const T *c, const T *a, const T *b, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = where_forward_one(c[i], a[i], b[i]));
}

void FN(where_backward)(T *da, T *db, const T *dy, const T *c, int64_t n)
{
    MS_PARALLEL_FOR(i, n, {
        da[i] = where_backward_da_one(dy[i], c[i]);
        db[i] = where_backward_db_one(dy[i], c[i]);
    });
}
