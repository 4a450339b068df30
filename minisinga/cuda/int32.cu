/* int32.cu -- the CUDA twins of minisinga/c/int32.c: arithmetic and
 * comparisons on int32 tensors.  Typed, built for int32 only (T = int32_t).
 *
 * One thread per element (grid-stride).  Sums and products wrap modulo 2^32:
 * they are computed on uint32_t (signed overflow is undefined in C++ too).
 * Comparisons and logical operators write 1 or 0 as int32. */
#include "ms_cuda.h"

#define MS_EW_LAUNCH(kernel, n, ...)                                   \
    do {                                                               \
        if ((n) > 0)                                                   \
            MS_LAUNCH(kernel, ms_blocks(n), MS_THREADS, __VA_ARGS__);  \
    } while (0)

/* One binary kernel and its launcher: y[i] = EXPR (of a[i] and b[i]). */
#define MS_INT32_BINARY(name, EXPR)                                          \
    __global__ void FN(name##_kernel)(T *y, const T *a, const T *b, int64_t n) \
    {                                                                        \
        MS_FOR_EACH(i, n)                                                    \
            y[i] = (T)(EXPR);                                                \
    }                                                                        \
    extern "C" void FN(name)(T *y, const T *a, const T *b, int64_t n)        \
    {                                                                        \
        MS_EW_LAUNCH(FN(name##_kernel), n, y, a, b, n);                      \
    }

/* y = a + b, a - b, a * b   (mod 2^32) */
MS_INT32_BINARY(add_forward, (uint32_t)a[i] + (uint32_t)b[i])
MS_INT32_BINARY(sub_forward, (uint32_t)a[i] - (uint32_t)b[i])
MS_INT32_BINARY(mul_forward, (uint32_t)a[i] * (uint32_t)b[i])
/* y = [a < b], [a > b], [a == b] */
MS_INT32_BINARY(less_forward, a[i] < b[i])
MS_INT32_BINARY(greater_forward, a[i] > b[i])
MS_INT32_BINARY(equal_forward, a[i] == b[i])
/* logical: a nonzero value is true */
MS_INT32_BINARY(and_forward, a[i] != 0 && b[i] != 0)
MS_INT32_BINARY(or_forward, a[i] != 0 || b[i] != 0)
MS_INT32_BINARY(xor_forward, (a[i] != 0) != (b[i] != 0))

/* y = [x == 0] */
__global__ void FN(not_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = x[i] == 0;
}
extern "C" void FN(not_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(not_forward_kernel), n, y, x, n);
}
