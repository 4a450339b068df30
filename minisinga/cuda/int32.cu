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

/* the number of idx[i] outside [lo, hi), back on the host: blocks count their
 * share into ms_range_counts, one block adds them, the launcher copies the
 * total back (a copy waits for the kernels) */
static __device__ int64_t ms_range_counts[MS_PARTIALS];
static __device__ int64_t ms_range_total;

__global__ void FN(count_out_of_range_kernel)(const T *idx, int64_t n, int64_t lo, int64_t hi)
{
    int64_t count = 0;
    MS_FOR_EACH(i, n)
        count += idx[i] < lo || idx[i] >= hi;
    count = ms_block_reduce<MsSum<int64_t> >(count);
    if (threadIdx.x == 0)
        ms_range_counts[blockIdx.x] = count;
}

__global__ void FN(count_out_of_range_finish_kernel)(int nparts)
{
    int64_t total = 0;
    for (int b = threadIdx.x; b < nparts; b += blockDim.x)
        total += ms_range_counts[b];
    total = ms_block_reduce<MsSum<int64_t> >(total);
    if (threadIdx.x == 0)
        ms_range_total = total;
}

extern "C" int64_t FN(count_out_of_range)(const T *idx, int64_t n, int64_t lo, int64_t hi)
{
    if (n <= 0)
        return 0;
    int64_t blocks = (n + MS_THREADS - 1) / MS_THREADS;
    if (blocks > MS_PARTIALS)
        blocks = MS_PARTIALS;
    MS_LAUNCH(FN(count_out_of_range_kernel), (unsigned int)blocks, MS_THREADS, idx, n, lo, hi);
    MS_LAUNCH(FN(count_out_of_range_finish_kernel), 1, MS_THREADS, (int)blocks);
    int64_t total = 0;
    ms_cuda_check(cudaMemcpyFromSymbol(&total, ms_range_total, sizeof total),
                  "cudaMemcpyFromSymbol (count_out_of_range)");
    return total;
}

/* ind's shape and x's strides travel to the kernel by value */
struct MsTargets {
    int64_t shape[MS_MAX_NDIM], xstrides[MS_MAX_NDIM];
};

/* idx[p] = sum over a != axis of p_a xstrides[a] + ind[p] xstrides[axis]
 * (one thread per update) */
__global__ void FN(scatter_targets_kernel)(T *idx, const T *ind, MsTargets s, int axis,
                                           int ndim, int64_t dim, int64_t n)
{
    MS_FOR_EACH(k, n) {
        int64_t rem = k, off = 0;
        for (int d = ndim - 1; d >= 0; d--) {
            int64_t p = rem % s.shape[d];
            rem /= s.shape[d];
            if (d == axis)
                p = ind[k] < 0 ? ind[k] + dim : ind[k];
            off += p * s.xstrides[d];
        }
        idx[k] = (T)off;
    }
}
extern "C" void FN(scatter_targets)(T *idx, const T *ind, const int64_t *shape,
                                    const int64_t *xstrides, int axis, int ndim, int64_t dim)
{
    if (ndim < 0 || ndim > MS_MAX_NDIM) {
        /* Python refuses this first (the device checks ndim); never launch it */
        ms_cuda_check(cudaErrorInvalidValue, "scatter_targets (ndim above MS_MAX_NDIM)");
        return;
    }
    MsTargets s;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        s.shape[d] = shape[d];
        s.xstrides[d] = xstrides[d];
        n *= shape[d];
    }
    MS_EW_LAUNCH(FN(scatter_targets_kernel), n, idx, ind, s, axis, ndim, dim, n);
}

/* The number of idx[i] equal to an earlier one, without atomics: thread t OWNS
 * the targets [t*per, (t+1)*per) of seen, walks all of idx in order, and
 * counts in seen the entries that land in its share (the scatter-adds of
 * indexing.cu do the same).  Its repeats go to ms_range_counts via the block,
 * and count_out_of_range's finish kernel adds the blocks. */
#define MS_REPEAT_OWNERS 65536
__global__ void FN(count_repeats_kernel)(const T *idx, int64_t n, T *seen, int64_t m,
                                         int64_t per)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t lo = t * per, hi = lo + per < m ? lo + per : m;
    int64_t count = 0;
    if (lo < m)
        for (int64_t i = 0; i < n; i++) {
            int64_t j = idx[i];
            if (j >= lo && j < hi)
                count += seen[j]++ > 0;
        }
    count = ms_block_reduce<MsSum<int64_t> >(count);
    if (threadIdx.x == 0)
        ms_range_counts[blockIdx.x] = count;
}
extern "C" int64_t FN(count_repeats)(const T *idx, int64_t n, T *seen, int64_t m)
{
    if (n <= 0 || m <= 0)
        return 0;
    int64_t owners = m < MS_REPEAT_OWNERS ? m : MS_REPEAT_OWNERS;
    int64_t per = (m + owners - 1) / owners;
    owners = (m + per - 1) / per;
    int64_t blocks = (owners + MS_THREADS - 1) / MS_THREADS; /* at most 256 <= MS_PARTIALS */
    MS_LAUNCH(FN(count_repeats_kernel), (unsigned int)blocks, MS_THREADS, idx, n, seen, m, per);
    MS_LAUNCH(FN(count_out_of_range_finish_kernel), 1, MS_THREADS, (int)blocks);
    int64_t total = 0;
    ms_cuda_check(cudaMemcpyFromSymbol(&total, ms_range_total, sizeof total),
                  "cudaMemcpyFromSymbol (count_repeats)");
    return total;
}
