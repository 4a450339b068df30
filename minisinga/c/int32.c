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

/* the number of idx[i] outside [lo, hi): the index checks of gather, embedding,
 * onehot and the losses' labels bring back this one number, not the indices */
int64_t FN(count_out_of_range)(const T *idx, int64_t n, int64_t lo, int64_t hi)
{
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++)
        count += idx[i] < lo || idx[i] >= hi;
    return count;
}

/* scatter_elements' index map, built on the device.  ind: compact, shape[0..ndim),
 * entries in [-dim, dim) along `axis` (a negative one counts from the end);
 * x: element strides xstrides.  For the position p of ind,
 *   idx[p] = sum over a != axis of p_a xstrides[a]  +  ind[p] xstrides[axis]
 * the flat position in x that update p is written to. */
void FN(scatter_targets)(T *idx, const T *ind, const int64_t *shape, const int64_t *xstrides,
                         int axis, int ndim, int64_t dim)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    MS_PARALLEL_FOR_WORK(k, n, n * ndim, {
        int64_t rem = k, off = 0;
        for (int d = ndim - 1; d >= 0; d--) {
            int64_t p = rem % shape[d];
            rem /= shape[d];
            if (d == axis)
                p = ind[k] < 0 ? ind[k] + dim : ind[k];
            off += p * xstrides[d];
        }
        idx[k] = (T)off;
    });
}

/* seen: m zeros (Python's), idx: n entries in [0, m).  Returns the number of
 * idx[i] equal to an earlier idx[i'] (0: all distinct); seen[j] ends as the
 * number of times j occurs. */
int64_t FN(count_repeats)(const T *idx, int64_t n, T *seen, int64_t m)
{
    (void)m;
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++)
        count += seen[idx[i]]++ > 0;
    return count;
}
