/* reduce.cu -- the CUDA twin of minisinga/c/reduce.c.  Typed (f32, f64).
 *
 * x: (outer, mid, inner) -> y: (outer, inner),  y[o, i] = scale * sum_m x[o, m, i]
 * Two kernels, for the two memory layouts:
 *   inner == 1 (row sums, the common case): one block per row; its threads
 *     stride along the contiguous row and meet in a tree (ms_block_reduce).
 *     A few very long rows (a whole-tensor sum) would leave most of the GPU
 *     idle, so then each row is split over several blocks that write partial
 *     sums, and a second kernel adds each row's partials in order.
 *   inner > 1 (column sums): a block of 32 x 8 threads takes 32 adjacent
 *     columns (so a warp reads 32 contiguous elements); its 8 rows of
 *     threads split mid and add their 8 partial sums through shared memory.
 * Sums are accumulated in double; the order is fixed, so runs repeat exactly. */
#include "ms_cuda.h"

/* y[o] = scale * sum_m x[o, m]; one block per row (grid-stride over rows) */
__global__ void FN(reduce_sum_rows_kernel)(T *y, const T *x, int64_t outer, int64_t mid,
                                           T scale)
{
    for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
        const T *xr = x + o * mid;
        double acc = 0.0;
        for (int64_t m = threadIdx.x; m < mid; m += blockDim.x)
            acc += (double)xr[m];
        acc = ms_block_reduce<MsSum<double> >(acc);
        if (threadIdx.x == 0)
            y[o] = (T)(acc * (double)scale);
    }
}

/* Split rows: block b of row o sums x[o, b*chunk .. (b+1)*chunk) into
 * ms_partials[o * parts + b]; then reduce_sum_parts_kernel adds them. */
static __device__ double ms_partials[MS_PARTIALS];

__global__ void FN(reduce_sum_split_kernel)(const T *x, int64_t mid, int64_t chunk, int parts)
{
    int64_t o = blockIdx.x / parts, b = blockIdx.x % parts;
    const T *xr = x + o * mid;
    int64_t end = (b + 1) * chunk < mid ? (b + 1) * chunk : mid;
    double acc = 0.0;
    for (int64_t m = b * chunk + threadIdx.x; m < end; m += blockDim.x)
        acc += (double)xr[m];
    acc = ms_block_reduce<MsSum<double> >(acc);
    if (threadIdx.x == 0)
        ms_partials[blockIdx.x] = acc;
}

/* y[o] = scale * sum_b ms_partials[o * parts + b]; one block per row */
__global__ void FN(reduce_sum_parts_kernel)(T *y, int parts, T scale)
{
    double acc = 0.0;
    for (int b = threadIdx.x; b < parts; b += blockDim.x)
        acc += ms_partials[blockIdx.x * parts + b];
    acc = ms_block_reduce<MsSum<double> >(acc);
    if (threadIdx.x == 0)
        y[blockIdx.x] = (T)(acc * (double)scale);
}

#define MS_SPLIT_MIN (1 << 16) /* rows at least this long may be split */

#define MS_COLS 32 /* columns per block (threadIdx.x) */
#define MS_SPLIT 8 /* threads sharing one column (threadIdx.y) */

/* y[o, i] = scale * sum_m x[o, m, i]; blockIdx.x picks 32 columns, blockIdx.y
 * strides over o */
__global__ void FN(reduce_sum_cols_kernel)(T *y, const T *x, int64_t outer, int64_t mid,
                                           int64_t inner, T scale)
{
    __shared__ double part[MS_SPLIT][MS_COLS + 1]; /* +1: no bank conflicts */
    int64_t i = (int64_t)blockIdx.x * MS_COLS + threadIdx.x;
    for (int64_t o = blockIdx.y; o < outer; o += gridDim.y) {
        double acc = 0.0;
        if (i < inner)
            for (int64_t m = threadIdx.y; m < mid; m += MS_SPLIT)
                acc += (double)x[(o * mid + m) * inner + i];
        part[threadIdx.y][threadIdx.x] = acc;
        __syncthreads();
        if (threadIdx.y == 0 && i < inner) {
            double total = 0.0;
            for (int s = 0; s < MS_SPLIT; s++)
                total += part[s][threadIdx.x];
            y[o * inner + i] = (T)(total * (double)scale);
        }
        __syncthreads(); /* part is reused by the next o */
    }
}

extern "C" void FN(reduce_sum_forward)(T *y, const T *x, int64_t outer, int64_t mid, int64_t inner,
                            T scale)
{
    if (outer * inner == 0)
        return;
    if (mid == 0) { /* an empty sum is 0 */
        FN(fill)(y, (T)0, outer * inner);
        return;
    }
    if (inner == 1 && mid >= MS_SPLIT_MIN && outer <= MS_PARTIALS / 8) {
        /* a few long rows: `parts` blocks per row, each a chunk of >= 4096 */
        int parts = (int)(MS_PARTIALS / outer);
        int64_t most = (mid + 4095) / 4096;
        parts = (int)(parts < most ? parts : most);
        int64_t chunk = (mid + parts - 1) / parts;
        MS_LAUNCH(FN(reduce_sum_split_kernel), (unsigned int)(outer * parts), MS_THREADS,
                  x, mid, chunk, parts);
        MS_LAUNCH(FN(reduce_sum_parts_kernel), (unsigned int)outer, MS_THREADS, y, parts, scale);
    } else if (inner == 1) {
        unsigned int blocks = (unsigned int)(outer < 65535 ? outer : 65535);
        MS_LAUNCH(FN(reduce_sum_rows_kernel), blocks, ms_row_threads(mid),
                  y, x, outer, mid, scale);
    } else {
        int64_t colblocks = (inner + MS_COLS - 1) / MS_COLS;
        dim3 grid((unsigned int)(colblocks < 2147483647 ? colblocks : 2147483647),
                  (unsigned int)(outer < 65535 ? outer : 65535));
        dim3 block(MS_COLS, MS_SPLIT);
        MS_LAUNCH(FN(reduce_sum_cols_kernel), grid, block, y, x, outer, mid, inner, scale);
    }
}
