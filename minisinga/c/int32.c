/* int32.c -- arithmetic and comparisons on int32 tensors.  Typed, built for
 * int32 only (T = int32_t, FN(x) = x##_i32).
 *
 * a, b, x, y: compact buffers of n elements (Python broadcast them, and casts
 * an int32 operand to float where the other one is float: these kernels see
 * two int32 operands).
 *
 * Overflow wraps around modulo 2^32, as NumPy's int32 does.  Signed overflow
 * is undefined behaviour in C, so the sums and products are computed on
 * uint32_t, where wrapping is defined, and converted back (GCC and Clang
 * define that conversion as modulo 2^32).
 *
 * The comparisons and logical operators write 1 for true and 0 for false, as
 * int32 (the output follows the inputs' type, as for floats). */
#include "minisinga.h"
#include "ms_parallel.h"
#include "pointwise_int32.h"   /* the formulas, shared with the CUDA twin */

/* One binary kernel: y[i] = ONE(a[i], b[i]) for i < n. */
#define MS_INT32_BINARY(name, ONE)                                          \
    void FN(name)(T *y, const T *a, const T *b, int64_t n)                  \
    {                                                                       \
        MS_PARALLEL_FOR(i, n, y[i] = ONE(a[i], b[i]));                      \
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
void FN(not_forward)(T *y, const T *x, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = not_i32_one(x[i]));
}
