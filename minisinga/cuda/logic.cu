/* logic.cu -- the CUDA twins of minisinga/c/logic.c: comparisons, logical
 * operators and where.  Typed (f32, f64).
 *
 * a, b, c, x, y: compact buffers of n elements (Python broadcast them).  One
 * thread per element (grid-stride).  The comparisons and logical operators
 * write 1 for true and 0 for false in T; a nonzero input counts as true. */
#include "ms_cuda.h"

/* --8<-- [start:ew_launch] */
#define MS_EW_LAUNCH(kernel, n, ...)                                   \
    do {                                                               \
        if ((n) > 0)                                                   \
            MS_LAUNCH(kernel, ms_blocks(n), MS_THREADS, __VA_ARGS__);  \
    } while (0)
/* --8<-- [end:ew_launch] */

/* --8<-- [start:less_forward] */
/* y = [a < b] */
__global__ void FN(less_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = a[i] < b[i] ? (T)1 : (T)0;
}
extern "C" void FN(less_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(less_forward_kernel), n, y, a, b, n);
}
/* --8<-- [end:less_forward] */

/* --8<-- [start:greater_forward] */
/* y = [a > b] */
__global__ void FN(greater_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = a[i] > b[i] ? (T)1 : (T)0;
}
extern "C" void FN(greater_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(greater_forward_kernel), n, y, a, b, n);
}
/* --8<-- [end:greater_forward] */

/* --8<-- [start:equal_forward] */
/* y = [a == b]   (exact comparison) */
__global__ void FN(equal_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = a[i] == b[i] ? (T)1 : (T)0;
}
extern "C" void FN(equal_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(equal_forward_kernel), n, y, a, b, n);
}
/* --8<-- [end:equal_forward] */

/* --8<-- [start:and_forward] */
/* y = [a != 0 and b != 0] */
__global__ void FN(and_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = (a[i] != 0 && b[i] != 0) ? (T)1 : (T)0;
}
extern "C" void FN(and_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(and_forward_kernel), n, y, a, b, n);
}
/* --8<-- [end:and_forward] */

/* --8<-- [start:or_forward] */
/* y = [a != 0 or b != 0] */
__global__ void FN(or_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = (a[i] != 0 || b[i] != 0) ? (T)1 : (T)0;
}
extern "C" void FN(or_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(or_forward_kernel), n, y, a, b, n);
}
/* --8<-- [end:or_forward] */

/* --8<-- [start:xor_forward] */
/* y = [(a != 0) != (b != 0)] */
__global__ void FN(xor_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = ((a[i] != 0) != (b[i] != 0)) ? (T)1 : (T)0;
}
extern "C" void FN(xor_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(xor_forward_kernel), n, y, a, b, n);
}
/* --8<-- [end:xor_forward] */

/* --8<-- [start:not_forward] */
/* y = [x == 0] */
__global__ void FN(not_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = x[i] == 0 ? (T)1 : (T)0;
}
extern "C" void FN(not_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(not_forward_kernel), n, y, x, n);
}
/* --8<-- [end:not_forward] */

/* --8<-- [start:where_forward] */
/* y = a where c != 0, else b */
__global__ void FN(where_forward_kernel)(T *y, const T *c, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = c[i] != 0 ? a[i] : b[i];
}
extern "C" void FN(where_forward)(T *y, const T *c, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(where_forward_kernel), n, y, c, a, b, n);
}
/* --8<-- [end:where_forward] */

/* --8<-- [start:where_backward] */
/* da = dy where c != 0, else 0 ;  db = dy where c == 0, else 0 */
__global__ void FN(where_backward_kernel)(T *da, T *db, const T *dy, const T *c, int64_t n)
{
    MS_FOR_EACH(i, n) {
        bool take_a = c[i] != 0;
        da[i] = take_a ? dy[i] : (T)0;
        db[i] = take_a ? (T)0 : dy[i];
    }
}
extern "C" void FN(where_backward)(T *da, T *db, const T *dy, const T *c, int64_t n)
{
    MS_EW_LAUNCH(FN(where_backward_kernel), n, da, db, dy, c, n);
}
/* --8<-- [end:where_backward] */
