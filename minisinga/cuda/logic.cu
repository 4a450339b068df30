/* logic.cu -- the CUDA twins of minisinga/c/logic.c: comparisons, logical
 * operators and where.  Typed (f32, f64).
 *
 * a, b, c, x, y: compact buffers of n elements (Python broadcast them).  One
 * thread per element (grid-stride).  The comparisons and logical operators
 * write 1 for true and 0 for false in T; a nonzero input counts as true. */
#include "ms_cuda.h"
#include "pointwise.h"

__global__ void FN(less_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = less_forward_one(a[i], b[i]);
}
extern "C" void FN(less_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(less_forward_kernel), n, y, a, b, n);
}

__global__ void FN(greater_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = greater_forward_one(a[i], b[i]);
}
extern "C" void FN(greater_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(greater_forward_kernel), n, y, a, b, n);
}

__global__ void FN(equal_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = equal_forward_one(a[i], b[i]);
}
extern "C" void FN(equal_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(equal_forward_kernel), n, y, a, b, n);
}

__global__ void FN(and_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = and_forward_one(a[i], b[i]);
}
extern "C" void FN(and_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(and_forward_kernel), n, y, a, b, n);
}

__global__ void FN(or_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = or_forward_one(a[i], b[i]);
}
extern "C" void FN(or_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(or_forward_kernel), n, y, a, b, n);
}

__global__ void FN(xor_forward_kernel)(T *y, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = xor_forward_one(a[i], b[i]);
}
extern "C" void FN(xor_forward)(T *y, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(xor_forward_kernel), n, y, a, b, n);
}

__global__ void FN(not_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = not_forward_one(x[i]);
}
extern "C" void FN(not_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(not_forward_kernel), n, y, x, n);
}

__global__ void FN(where_forward_kernel)(T *y, const T *c, const T *a, const T *b, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = where_forward_one(c[i], a[i], b[i]);
}
extern "C" void FN(where_forward)(T *y, const T *c, const T *a, const T *b, int64_t n)
{
    MS_EW_LAUNCH(FN(where_forward_kernel), n, y, c, a, b, n);
}

__global__ void FN(where_backward_kernel)(T *da, T *db, const T *dy, const T *c, int64_t n)
{
    MS_FOR_EACH(i, n) {
        da[i] = where_backward_da_one(dy[i], c[i]);
        db[i] = where_backward_db_one(dy[i], c[i]);
    }
}
extern "C" void FN(where_backward)(T *da, T *db, const T *dy, const T *c, int64_t n)
{
    MS_EW_LAUNCH(FN(where_backward_kernel), n, da, db, dy, c, n);
}
