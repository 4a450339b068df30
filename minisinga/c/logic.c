/* logic.c -- comparisons, logical operators and where.  Typed (f32, f64).
 *
 * a, b, x, y: compact buffers of n elements (Python broadcast them).  The
 * comparisons and logical operators write 1 for true and 0 for false in the
 * input's float type; a nonzero input counts as true.  They have no backward
 * (their output is piecewise constant).  where has one. */
#include "minisinga.h"

#define MS_PAR_MIN 32768

/* --8<-- [start:less_forward] */
/* y = [a < b] */
void FN(less_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] < b[i] ? (T)1 : (T)0;
}
/* --8<-- [end:less_forward] */

/* --8<-- [start:greater_forward] */
/* y = [a > b] */
void FN(greater_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] > b[i] ? (T)1 : (T)0;
}
/* --8<-- [end:greater_forward] */

/* --8<-- [start:equal_forward] */
/* y = [a == b]   (exact comparison) */
void FN(equal_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] == b[i] ? (T)1 : (T)0;
}
/* --8<-- [end:equal_forward] */

/* --8<-- [start:and_forward] */
/* y = [a != 0 and b != 0] */
void FN(and_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (a[i] != 0 && b[i] != 0) ? (T)1 : (T)0;
}
/* --8<-- [end:and_forward] */

/* --8<-- [start:or_forward] */
/* y = [a != 0 or b != 0] */
void FN(or_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (a[i] != 0 || b[i] != 0) ? (T)1 : (T)0;
}
/* --8<-- [end:or_forward] */

/* --8<-- [start:xor_forward] */
/* y = [(a != 0) != (b != 0)] */
void FN(xor_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = ((a[i] != 0) != (b[i] != 0)) ? (T)1 : (T)0;
}
/* --8<-- [end:xor_forward] */

/* --8<-- [start:not_forward] */
/* y = [x == 0] */
void FN(not_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] == 0 ? (T)1 : (T)0;
}
/* --8<-- [end:not_forward] */

/* --8<-- [start:where_forward] */
/* y = a where c != 0, else b */
void FN(where_forward)(T *y, const T *c, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = c[i] != 0 ? a[i] : b[i];
}
/* --8<-- [end:where_forward] */

/* --8<-- [start:where_backward] */
/* da = dy where c != 0, else 0 ;  db = dy where c == 0, else 0 */
void FN(where_backward)(T *da, T *db, const T *dy, const T *c, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        int take_a = c[i] != 0;
        da[i] = take_a ? dy[i] : (T)0;
        db[i] = take_a ? (T)0 : dy[i];
    }
}
/* --8<-- [end:where_backward] */
