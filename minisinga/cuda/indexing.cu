/* indexing.cu -- the CUDA twins of minisinga/c/indexing.c: data movement
 * through an index map, embeddings, one-hot and nonzero.  Typed (f32, f64).
 *
 * Gathers (y[i] = x[idx[i]], window_copy, gather_forward) and writes to
 * distinct targets are one thread per element.  The scatter-ADDs
 * (pad_backward, gather_backward, embedding_backward) may send several inputs
 * to one output, and the C kernels add them in a fixed order so that the
 * result is reproducible.  Here each thread OWNS outputs: it walks, in that
 * order, everything that lands on them (pad_backward and gather_backward: one
 * output each; embedding_backward: a set of rows, walking all of x).  No two
 * threads write one element (no atomics), and every sum is the CPU's bit for
 * bit.  nonzero needs a host answer (the count) and a prefix sum (each
 * nonzero's rank); see the last section. */
#include "ms_cuda.h"
#include "pointwise.h"   /* pad_source_one, pad_backward_one, not_int32_one */

/* Most threads a scatter-add uses (each owns about 1/this of the outputs). */
#define MS_OWNERS 65536

/* y[i] = x[idx[i]] if idx[i] >= 0, else fill   (a negative index marks padding) */
__global__ void FN(gather_index_kernel)(T *y, const T *x, const int32_t *idx, T fill, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = idx[i] >= 0 ? x[idx[i]] : fill;
}
extern "C" void FN(gather_index)(T *y, const T *x, const int32_t *idx, T fill, int64_t n)
{
    MS_EW_LAUNCH(FN(gather_index_kernel), n, y, x, idx, fill, n);
}

/* y[idx[i]] = u[i]   (y already holds a copy of x; the targets idx are distinct) */
__global__ void FN(scatter_index_kernel)(T *y, const T *u, const int32_t *idx, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[idx[i]] = u[i];
}
extern "C" void FN(scatter_index)(T *y, const T *u, const int32_t *idx, int64_t n)
{
    MS_EW_LAUNCH(FN(scatter_index_kernel), n, y, u, idx, n);
}

/* y[idx[i]] = value */
__global__ void FN(fill_index_kernel)(T *y, T value, const int32_t *idx, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[idx[i]] = value;
}
extern "C" void FN(fill_index)(T *y, T value, const int32_t *idx, int64_t n)
{
    MS_EW_LAUNCH(FN(fill_index_kernel), n, y, value, idx, n);
}

/* ------------------------------------------------------ windows: slice, pad */

/* The per-axis geometry of a window travels to the kernel by value (the
 * launcher gets host arrays, as the C kernel does). */
struct MsWindow {
    int64_t shape[MS_MAX_NDIM], xdim[MS_MAX_NDIM], xstrides[MS_MAX_NDIM];
    int64_t start[MS_MAX_NDIM], step[MS_MAX_NDIM];
};

static bool ms_window(MsWindow *w, const int64_t *shape, const int64_t *xdim,
                      const int64_t *xstrides, const int64_t *start, const int64_t *step,
                      int ndim, const char *what)
{
    if (ndim < 0 || ndim > MS_MAX_NDIM) {
        /* Python refuses this first (the device checks ndim); never launch it */
        ms_cuda_check(cudaErrorInvalidValue, what);
        return false;
    }
    for (int d = 0; d < ndim; d++) {
        w->shape[d] = shape[d];
        w->xdim[d] = xdim ? xdim[d] : 0;
        w->xstrides[d] = xstrides[d];
        w->start[d] = start[d];
        w->step[d] = step[d];
    }
    return true;
}

/* y: compact, shape[0..ndim);  along axis d, output position o reads source
 * position i = start[d] + o * step[d] of x, resolved by pad_source_one
 * (pointwise.h) when it falls outside [0, xdim[d]):
 *   y[o_0, o_1, ...] = x[sum_d src_d * xstrides[d]]   (fill if any src_d is -1) */
__global__ void FN(window_copy_kernel)(T *y, const T *x, MsWindow w, int mode, T fill,
                                       int ndim, int64_t n)
{
    MS_FOR_EACH(k, n) {
        int64_t rem = k, off = 0;
        bool padding = false;
        for (int d = ndim - 1; d >= 0; d--) {
            int64_t src = pad_source_one(w.start[d] + (rem % w.shape[d]) * w.step[d],
                                         w.xdim[d], mode);
            rem /= w.shape[d];
            if (src < 0)
                padding = true;
            else
                off += src * w.xstrides[d];
        }
        y[k] = padding ? fill : x[off];
    }
}
extern "C" void FN(window_copy)(T *y, const T *x, const int64_t *shape, const int64_t *xdim,
                                const int64_t *xstrides, const int64_t *start,
                                const int64_t *step, int mode, T fill, int ndim)
{
    MsWindow w;
    if (!ms_window(&w, shape, xdim, xstrides, start, step, ndim,
                   "window_copy (ndim above MS_MAX_NDIM)"))
        return;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    MS_EW_LAUNCH(FN(window_copy_kernel), n, y, x, w, mode, fill, ndim, n);
}

/* dx = 0 (nx elements), then dx[sum_d (start[d] + o_d step[d]) xstrides[d]] = dy[o]
 * (a slice reads each element at most once: one thread per dy element, no collisions) */
__global__ void FN(slice_zero_kernel)(T *y, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = (T)0;
}
__global__ void FN(slice_backward_kernel)(T *dx, const T *dy, MsWindow w, int ndim, int64_t n)
{
    MS_FOR_EACH(k, n) {
        int64_t rem = k, off = 0;
        for (int d = ndim - 1; d >= 0; d--) {
            off += (w.start[d] + (rem % w.shape[d]) * w.step[d]) * w.xstrides[d];
            rem /= w.shape[d];
        }
        dx[off] = dy[k];
    }
}
extern "C" void FN(slice_backward)(T *dx, const T *dy, const int64_t *shape,
                                   const int64_t *xstrides, const int64_t *start,
                                   const int64_t *step, int ndim, int64_t nx)
{
    MsWindow w;
    if (!ms_window(&w, shape, NULL, xstrides, start, step, ndim,
                   "slice_backward (ndim above MS_MAX_NDIM)"))
        return;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    MS_EW_LAUNCH(FN(slice_zero_kernel), nx, dx, nx);
    MS_EW_LAUNCH(FN(slice_backward_kernel), n, dx, dy, w, ndim, n);
}

/* one padded axis:  dy: (outer, ydim, inner),  dx: (outer, dim, inner)
 *   dx[a, i, b] = pad_backward_one(...)   (one thread per element of dx) */
__global__ void FN(pad_backward_kernel)(T *dx, const T *dy, int64_t outer, int64_t dim,
                                        int64_t ydim, int64_t inner, int64_t begin, int mode)
{
    MS_FOR_EACH(k, outer * dim * inner) {
        int64_t b = k % inner, i = (k / inner) % dim, a = k / (dim * inner);
        dx[k] = pad_backward_one(dy + a * ydim * inner + b, inner, i, dim, ydim, begin, mode);
    }
}
extern "C" void FN(pad_backward)(T *dx, const T *dy, int64_t outer, int64_t dim, int64_t ydim,
                                 int64_t inner, int64_t begin, int mode)
{
    MS_EW_LAUNCH(FN(pad_backward_kernel), outer * dim * inner, dx, dy, outer, dim, ydim, inner,
                 begin, mode);
}

/* ---------------------------------------------------------------- gather */

/* x: (outer, dim, inner);  ind: n int32 in [-dim, dim);  y: (outer, n, inner)
 *   y[a, k, b] = x[a, ind[k], b]   (one thread per element of y) */
__global__ void FN(gather_forward_kernel)(T *y, const T *x, const int32_t *ind, int64_t outer,
                                          int64_t dim, int64_t n, int64_t inner)
{
    MS_FOR_EACH(q, outer * n * inner) {
        int64_t b = q % inner, k = (q / inner) % n, a = q / (n * inner);
        int64_t i = ind[k] < 0 ? ind[k] + dim : ind[k];
        y[q] = x[(a * dim + i) * inner + b];
    }
}
extern "C" void FN(gather_forward)(T *y, const T *x, const int32_t *ind, int64_t outer,
                                   int64_t dim, int64_t n, int64_t inner)
{
    MS_EW_LAUNCH(FN(gather_forward_kernel), outer * n * inner, y, x, ind, outer, dim, n, inner);
}

/* dx[a, i, b] = sum of dy[a, k, b] over every k with ind[k] = i (mod dim), in
 * order of k: one thread per element of dx walks all of ind (the threads of a
 * warp read the same ind[k]), so no two threads write one element and the sum
 * is the CPU's bit for bit. */
__global__ void FN(gather_backward_kernel)(T *dx, const T *dy, const int32_t *ind,
                                           int64_t outer, int64_t dim, int64_t n, int64_t inner)
{
    MS_FOR_EACH(q, outer * dim * inner) {
        int64_t b = q % inner, i = (q / inner) % dim, a = q / (dim * inner);
        T s = (T)0;
        for (int64_t k = 0; k < n; k++) {
            int64_t j = ind[k] < 0 ? ind[k] + dim : ind[k];
            if (j == i)
                s += dy[(a * n + k) * inner + b];
        }
        dx[q] = s;
    }
}
extern "C" void FN(gather_backward)(T *dx, const T *dy, const int32_t *ind, int64_t outer,
                                    int64_t dim, int64_t n, int64_t inner)
{
    MS_EW_LAUNCH(FN(gather_backward_kernel), outer * dim * inner, dx, dy, ind, outer, dim, n,
                 inner);
}

/* ------------------------------------------------------------- embedding */

/* x: (n,) row indices in [0, vocab);  w: (vocab, dim);  y: (n, dim)
 *   y[r, j] = w[x[r], j]   (one thread per element of y) */
__global__ void FN(embedding_forward_kernel)(T *y, const T *w, const int32_t *x, int64_t n,
                                             int64_t dim)
{
    MS_FOR_EACH(k, n * dim)
        y[k] = w[(int64_t)x[k / dim] * dim + k % dim];
}
extern "C" void FN(embedding_forward)(T *y, const T *w, const int32_t *x, int64_t n, int64_t dim)
{
    MS_EW_LAUNCH(FN(embedding_forward_kernel), n * dim, y, w, x, n, dim);
}

/* dy: (n, dim);  dw: (vocab, dim)
 *   dw[v, j] = sum of dy[r, j] over every r with x[r] == v, in order of r   (0 if none)
 * Thread (q, j) owns column j of the rows v in [q*per, (q+1)*per). */
__global__ void FN(embedding_backward_kernel)(T *dw, const T *dy, const int32_t *x, int64_t n,
                                              int64_t vocab, int64_t dim, int64_t per)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t q = t / dim, j = t % dim;
    int64_t lo = q * per, hi = lo + per < vocab ? lo + per : vocab;
    if (lo >= vocab)
        return;
    for (int64_t v = lo; v < hi; v++)
        dw[v * dim + j] = (T)0;
    for (int64_t r = 0; r < n; r++) {
        int64_t v = x[r];
        if (v >= lo && v < hi)
            dw[v * dim + j] += dy[r * dim + j];
    }
}
extern "C" void FN(embedding_backward)(T *dw, const T *dy, const int32_t *x, int64_t n,
                                       int64_t vocab, int64_t dim)
{
    if (vocab * dim <= 0)
        return;
    int64_t groups = MS_OWNERS / dim; /* row groups per column */
    if (groups < 1)
        groups = 1;
    if (groups > vocab)
        groups = vocab;
    int64_t per = (vocab + groups - 1) / groups;
    groups = (vocab + per - 1) / per;
    int64_t threads = groups * dim;
    MS_LAUNCH(FN(embedding_backward_kernel), (unsigned int)((threads + MS_THREADS - 1) / MS_THREADS),
              MS_THREADS, dw, dy, x, n, vocab, dim, per);
}

/* --------------------------------------------------------------- one-hot */

/* ind: (outer, inner) int32 in [-depth, depth) (negative counts from the end);
 * y: (outer, depth, inner);  y[o, d, i] = on if d == ind[o, i] (mod depth) else off */
__global__ void FN(onehot_forward_kernel)(T *y, const int32_t *ind, T off, T on, int64_t outer,
                                          int64_t depth, int64_t inner)
{
    MS_FOR_EACH(k, outer * depth * inner) {
        int64_t i = k % inner, d = (k / inner) % depth, o = k / (depth * inner);
        int64_t want = ind[o * inner + i];
        if (want < 0)
            want += depth;
        y[k] = want == d ? on : off;
    }
}
extern "C" void FN(onehot_forward)(T *y, const int32_t *ind, T off, T on, int64_t outer,
                                   int64_t depth, int64_t inner)
{
    MS_EW_LAUNCH(FN(onehot_forward_kernel), outer * depth * inner, y, ind, off, on, outer, depth,
                 inner);
}

/* --------------------------------------------------------------- nonzero
 * nonzero_count returns the count to the host (Python sizes idx with it):
 * blocks count their share into ms_counts, one block adds them into
 * ms_nonzero_total, and the launcher copies that to the host (a copy waits
 * for the kernels).  nonzero_forward: one block; thread t takes the t-th
 * contiguous chunk of x, counts its nonzeros, thread 0 turns the counts into
 * each chunk's first rank (a prefix sum in order), and every thread writes
 * its nonzeros' multi-indices from there: the row-major order of the C loop. */
static __device__ int64_t ms_counts[MS_PARTIALS];
static __device__ int64_t ms_nonzero_total;

/* ms_counts[block] = the number of x[i] != 0 in this block's share */
__global__ void FN(nonzero_count_kernel)(const T *x, int64_t n)
{
    int64_t count = 0;
    MS_FOR_EACH(i, n)
        count += x[i] != 0;
    count = ms_block_reduce<MsSum<int64_t> >(count);
    if (threadIdx.x == 0)
        ms_counts[blockIdx.x] = count;
}

/* ms_nonzero_total = ms_counts[0] + ... + ms_counts[nparts - 1] */
__global__ void FN(nonzero_count_finish_kernel)(int nparts)
{
    int64_t total = 0;
    for (int b = threadIdx.x; b < nparts; b += blockDim.x)
        total += ms_counts[b];
    total = ms_block_reduce<MsSum<int64_t> >(total);
    if (threadIdx.x == 0)
        ms_nonzero_total = total;
}

extern "C" int64_t FN(nonzero_count)(const T *x, int64_t n)
{
    if (n <= 0)
        return 0;
    int64_t blocks = (n + MS_THREADS - 1) / MS_THREADS;
    if (blocks > MS_PARTIALS)
        blocks = MS_PARTIALS;
    MS_LAUNCH(FN(nonzero_count_kernel), (unsigned int)blocks, MS_THREADS, x, n);
    MS_LAUNCH(FN(nonzero_count_finish_kernel), 1, MS_THREADS, (int)blocks);
    int64_t total = 0;
    ms_cuda_check(cudaMemcpyFromSymbol(&total, ms_nonzero_total, sizeof total),
                  "cudaMemcpyFromSymbol (nonzero_count)");
    return total;
}

/* x's shape travels to the kernel by value (the launcher gets a host array) */
struct MsShape {
    int64_t dims[MS_MAX_NDIM];
};

/* x: shape[0..ndim), n elements with `count` nonzeros;  idx: (ndim, count)
 *   idx[:, k] = the multi-index of the k-th nonzero of x in row-major order */
__global__ void FN(nonzero_forward_kernel)(int32_t *idx, const T *x, MsShape shape, int ndim,
                                           int64_t n, int64_t count)
{
    __shared__ int64_t first[MS_THREADS]; /* the rank of each chunk's first nonzero */
    const int64_t chunk = (n + blockDim.x - 1) / blockDim.x;
    const int64_t lo = threadIdx.x * chunk < n ? threadIdx.x * chunk : n;
    const int64_t hi = lo + chunk < n ? lo + chunk : n;
    int64_t mine = 0;
    for (int64_t i = lo; i < hi; i++)
        mine += x[i] != 0;
    first[threadIdx.x] = mine;
    __syncthreads();
    if (threadIdx.x == 0) { /* exclusive prefix sum, in chunk order */
        int64_t run = 0;
        for (unsigned int t = 0; t < blockDim.x; t++) {
            int64_t c = first[t];
            first[t] = run;
            run += c;
        }
    }
    __syncthreads();
    int64_t k = first[threadIdx.x];
    for (int64_t i = lo; i < hi; i++) {
        if (x[i] == 0)
            continue;
        int64_t rem = i;
        for (int d = ndim - 1; d >= 0; d--) {
            idx[d * count + k] = (int32_t)(rem % shape.dims[d]);
            rem /= shape.dims[d];
        }
        k++;
    }
}

extern "C" void FN(nonzero_forward)(int32_t *idx, const T *x, const int64_t *shape, int ndim,
                                    int64_t n, int64_t count)
{
    if (ndim < 0 || ndim > MS_MAX_NDIM) {
        /* Python refuses this first (the device checks ndim); never launch it */
        ms_cuda_check(cudaErrorInvalidValue, "nonzero_forward (ndim above MS_MAX_NDIM)");
        return;
    }
    MsShape s;
    for (int d = 0; d < ndim; d++)
        s.dims[d] = shape[d];
    if (n > 0 && count > 0)
        MS_LAUNCH(FN(nonzero_forward_kernel), 1, MS_THREADS, idx, x, s, ndim, n, count);
}

/* the number of x[i] that cannot be an int32 (not_int32_one, pointwise.h), back
 * on the host the way nonzero_count's total comes: block counts in ms_counts,
 * nonzero_count_finish_kernel adds them into ms_nonzero_total, one copy back */
__global__ void FN(count_not_int32_kernel)(const T *x, int64_t n, int whole)
{
    int64_t count = 0;
    MS_FOR_EACH(i, n)
        count += not_int32_one((double)x[i], whole);
    count = ms_block_reduce<MsSum<int64_t> >(count);
    if (threadIdx.x == 0)
        ms_counts[blockIdx.x] = count;
}

extern "C" int64_t FN(count_not_int32)(const T *x, int64_t n, int whole)
{
    if (n <= 0)
        return 0;
    int64_t blocks = (n + MS_THREADS - 1) / MS_THREADS;
    if (blocks > MS_PARTIALS)
        blocks = MS_PARTIALS;
    MS_LAUNCH(FN(count_not_int32_kernel), (unsigned int)blocks, MS_THREADS, x, n, whole);
    MS_LAUNCH(FN(nonzero_count_finish_kernel), 1, MS_THREADS, (int)blocks);
    int64_t total = 0;
    ms_cuda_check(cudaMemcpyFromSymbol(&total, ms_nonzero_total, sizeof total),
                  "cudaMemcpyFromSymbol (count_not_int32)");
    return total;
}
