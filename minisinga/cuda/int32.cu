/* int32.cu -- the CUDA twins of minisinga/c/int32.c: arithmetic and
 * comparisons on int32 tensors.  Typed, built for int32 only (T = int32_t).
 *
 * One thread per element (grid-stride).  Sums and products wrap modulo 2^32:
 * they are computed on uint32_t (signed overflow is undefined in C++ too).
 * Comparisons and logical operators write 1 or 0 as int32. */
#include "ms_cuda.h"
#include "pointwise_int32.h"   /* the formulas, shared with minisinga/c/int32.c */

/* One binary kernel and its launcher: y[i] = ONE(a[i], b[i]). */
#define MS_INT32_BINARY(name, ONE)                                           \
    __global__ void FN(name##_kernel)(T *y, const T *a, const T *b, int64_t n) \
    {                                                                        \
        MS_FOR_EACH(i, n)                                                    \
            y[i] = ONE(a[i], b[i]);                                          \
    }                                                                        \
    extern "C" void FN(name)(T *y, const T *a, const T *b, int64_t n)        \
    {                                                                        \
        MS_EW_LAUNCH(FN(name##_kernel), n, y, a, b, n);                      \
    }

MS_INT32_BINARY(add_forward, add_i32_one)
MS_INT32_BINARY(sub_forward, sub_i32_one)
MS_INT32_BINARY(mul_forward, mul_i32_one)
MS_INT32_BINARY(less_forward, less_i32_one)
MS_INT32_BINARY(greater_forward, greater_i32_one)
MS_INT32_BINARY(equal_forward, equal_i32_one)
MS_INT32_BINARY(and_forward, and_i32_one)
MS_INT32_BINARY(or_forward, or_i32_one)
MS_INT32_BINARY(xor_forward, xor_i32_one)

/* y = [x == 0] */
__global__ void FN(not_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = not_i32_one(x[i]);
}
extern "C" void FN(not_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(not_forward_kernel), n, y, x, n);
}
