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

#define MS_PAR_MIN 32768 /* below this many elements, one thread is faster */

/* y = a + b   (mod 2^32) */
void FN(add_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)((uint32_t)a[i] + (uint32_t)b[i]);
}

/* y = a - b   (mod 2^32) */
void FN(sub_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)((uint32_t)a[i] - (uint32_t)b[i]);
}

/* y = a * b   (mod 2^32) */
void FN(mul_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (T)((uint32_t)a[i] * (uint32_t)b[i]);
}

/* y = [a < b] */
void FN(less_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] < b[i];
}

/* y = [a > b] */
void FN(greater_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] > b[i];
}

/* y = [a == b] */
void FN(equal_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] == b[i];
}

/* y = [a != 0 and b != 0] */
void FN(and_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] != 0 && b[i] != 0;
}

/* y = [a != 0 or b != 0] */
void FN(or_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] != 0 || b[i] != 0;
}

/* y = [(a != 0) != (b != 0)] */
void FN(xor_forward)(T *y, const T *a, const T *b, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = (a[i] != 0) != (b[i] != 0);
}

/* y = [x == 0] */
void FN(not_forward)(T *y, const T *x, int64_t n)
{
#pragma omp parallel for if (n > MS_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] == 0;
}
