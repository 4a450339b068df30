/* indexing.c -- data movement through an index map, embeddings, one-hot and
 * nonzero.  Typed (f32, f64).
 *
 * slice and pad are one kernel, window_copy: the strided copy of storage.c
 * with a start, a step and padding per axis, so no index map is ever built.
 * gather takes its indices along one axis as an int32 tensor.
 * scatter_elements moves data through an index map idx (int32, one entry per
 * update): output element idx[i] gets update i.  Python has checked every
 * index, with the count kernels (count_out_of_range in int32.c,
 * count_not_int32 here), before any of these runs. */
#include "minisinga.h"
#include "ms_parallel.h"
#include "pointwise.h"   /* pad_source_one, pad_backward_one, not_int32_one */


/* y[i] = x[idx[i]] if idx[i] >= 0, else fill   (a negative index marks
 * padding: pad's constant mode) */
void FN(gather_index)(T *y, const T *x, const int32_t *idx, T fill, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = idx[i] >= 0 ? x[idx[i]] : fill);
}

/* y[idx[i]] = u[i]   (y already holds a copy of x; the targets idx are distinct) */
void FN(scatter_index)(T *y, const T *u, const int32_t *idx, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[idx[i]] = u[i]);
}

/* y[idx[i]] = value   (masks the gradient of the overwritten elements) */
void FN(fill_index)(T *y, T value, const int32_t *idx, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[idx[i]] = value);
}

/* ------------------------------------------------------ windows: slice, pad */

/* y: compact, shape[0..ndim);  x: xdim[0..ndim), element strides xstrides.
 * Along axis d, output position o reads source position
 *     i = start[d] + o * step[d]          (slice: start and step; pad: start = -begin)
 * and a source position outside [0, xdim[d]) is padding, resolved by
 * pad_source_one (pointwise.h): the constant `fill`, the edge, or the mirror.
 *   y[o_0, o_1, ...] = x[sum_d src_d * xstrides[d]]   (fill if any src_d is -1)
 * The odometer of strided_copy (storage.c): the rows of the last axis in
 * parallel, each recomputing its base offset. */
void FN(window_copy)(T *y, const T *x, const int64_t *shape, const int64_t *xdim,
                     const int64_t *xstrides, const int64_t *start, const int64_t *step,
                     int mode, T fill, int ndim)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    if (n == 0)
        return;
    if (ndim == 0) {
        y[0] = x[0];
        return;
    }
    const int last = ndim - 1;
    const int64_t inner = shape[last], outer = n / inner;
    /* Along the last axis the positions j in [j0, j1) read inside x (the
     * positions only grow or only shrink, so they are one run): a plain strided
     * loop there, pad_source_one only for the padding either side. */
    const int64_t s0 = start[last], st = step[last], xs = xstrides[last];
    int64_t j0 = 0, j1;
    while (j0 < inner && (s0 + j0 * st < 0 || s0 + j0 * st >= xdim[last]))
        j0++;
    for (j1 = j0; j1 < inner && s0 + j1 * st >= 0 && s0 + j1 * st < xdim[last]; j1++)
        ;
    MS_PARALLEL_FOR_WORK(o, outer, n, {
        int64_t rem = o, base = 0;
        int padding = 0;
        for (int d = last - 1; d >= 0; d--) {
            int64_t src = pad_source_one(start[d] + (rem % shape[d]) * step[d], xdim[d], mode);
            rem /= shape[d];
            if (src < 0)
                padding = 1;
            else
                base += src * xstrides[d];
        }
        T *yr = y + o * inner;
        if (padding) {
            for (int64_t j = 0; j < inner; j++)
                yr[j] = fill;
        } else {
            for (int64_t j = 0; j < j0; j++) {          /* padding before */
                int64_t src = pad_source_one(s0 + j * st, xdim[last], mode);
                yr[j] = src < 0 ? fill : x[base + src * xs];
            }
            const T *xr = x + base + s0 * xs;
            for (int64_t j = j0; j < j1; j++)           /* inside x */
                yr[j] = xr[j * st * xs];
            for (int64_t j = j1; j < inner; j++) {      /* padding after */
                int64_t src = pad_source_one(s0 + j * st, xdim[last], mode);
                yr[j] = src < 0 ? fill : x[base + src * xs];
            }
        }
    });
}

/* dx: compact, nx elements (all of x);  dy: compact, shape[0..ndim) (the slice)
 *   dx = 0, then dx[sum_d (start[d] + o_d step[d]) xstrides[d]] = dy[o]
 * A slice reads each element of x at most once, so the writes never collide. */
void FN(slice_backward)(T *dx, const T *dy, const int64_t *shape, const int64_t *xstrides,
                        const int64_t *start, const int64_t *step, int ndim, int64_t nx)
{
    MS_PARALLEL_FOR(j, nx, dx[j] = (T)0);
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    if (n == 0)
        return;
    if (ndim == 0) {
        dx[0] = dy[0];
        return;
    }
    const int last = ndim - 1;
    const int64_t inner = shape[last], outer = n / inner;
    MS_PARALLEL_FOR_WORK(o, outer, n, {
        int64_t rem = o, base = 0;
        for (int d = last - 1; d >= 0; d--) {
            base += (start[d] + (rem % shape[d]) * step[d]) * xstrides[d];
            rem /= shape[d];
        }
        const T *dyr = dy + o * inner;
        for (int64_t j = 0; j < inner; j++)
            dx[base + (start[last] + j * step[last]) * xstrides[last]] = dyr[j];
    });
}

/* one padded axis:  dy: (outer, ydim, inner),  dx: (outer, dim, inner)
 *   dx[a, i, b] = sum of dy[a, o, b] over the o that read position i
 * (pad_backward_one, pointwise.h).  Python runs it once per padded axis. */
void FN(pad_backward)(T *dx, const T *dy, int64_t outer, int64_t dim, int64_t ydim,
                      int64_t inner, int64_t begin, int mode)
{
    MS_PARALLEL_FOR_WORK(r, outer * dim, outer * ydim * inner, {
        int64_t a = r / dim, i = r % dim;
        for (int64_t b = 0; b < inner; b++)
            dx[r * inner + b] = pad_backward_one(dy + a * ydim * inner + b, inner, i, dim,
                                                 ydim, begin, mode);
    });
}

/* ---------------------------------------------------------------- gather */

/* x: (outer, dim, inner);  ind: n int32 in [-dim, dim) (a negative one counts
 * from the end);  y: (outer, n, inner)
 *   y[a, k, b] = x[a, ind[k], b] */
void FN(gather_forward)(T *y, const T *x, const int32_t *ind, int64_t outer, int64_t dim,
                        int64_t n, int64_t inner)
{
    MS_PARALLEL_FOR_WORK(a, outer, outer * n * inner, {
        for (int64_t k = 0; k < n; k++) {
            int64_t i = ind[k] < 0 ? ind[k] + dim : ind[k];
            const T *xr = x + (a * dim + i) * inner;
            T *yr = y + (a * n + k) * inner;
            for (int64_t b = 0; b < inner; b++)
                yr[b] = xr[b];
        }
    });
}

/* dy: (outer, n, inner);  dx: (outer, dim, inner)
 *   dx[a, i, b] = sum of dy[a, k, b] over every k with ind[k] = i (mod dim),
 *   in order of k (a repeated index accumulates; reproducible) */
void FN(gather_backward)(T *dx, const T *dy, const int32_t *ind, int64_t outer, int64_t dim,
                         int64_t n, int64_t inner)
{
    MS_PARALLEL_FOR_WORK(a, outer, outer * (dim + n) * inner, {
        T *dxa = dx + a * dim * inner;
        for (int64_t j = 0; j < dim * inner; j++)
            dxa[j] = (T)0;
        for (int64_t k = 0; k < n; k++) {
            int64_t i = ind[k] < 0 ? ind[k] + dim : ind[k];
            const T *dyr = dy + (a * n + k) * inner;
            for (int64_t b = 0; b < inner; b++)
                dxa[i * inner + b] += dyr[b];
        }
    });
}

/* the number of x[i] that cannot be an int32 (not_int32_one, pointwise.h):
 * Cast's check, and float indices', before anything is cast */
int64_t FN(count_not_int32)(const T *x, int64_t n, int whole)
{
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++)
        count += not_int32_one((double)x[i], whole);
    return count;
}

/* ------------------------------------------------------------- embedding */

/* x: (n,) row indices in [0, vocab);  w: (vocab, dim);  y: (n, dim)
 *   y[r, :] = w[x[r], :] */
void FN(embedding_forward)(T *y, const T *w, const int32_t *x, int64_t n, int64_t dim)
{
    MS_PARALLEL_FOR_WORK(r, n, n * dim, {
        const T *wr = w + (int64_t)x[r] * dim;
        T *yr = y + r * dim;
        for (int64_t j = 0; j < dim; j++)
            yr[j] = wr[j];
    });
}

/* dy: (n, dim);  dw: (vocab, dim)
 *   dw[v, :] = sum of dy[r, :] over every r with x[r] == v   (0 for unused rows)
 * Rows are added in order of r (a repeated index accumulates; reproducible). */
void FN(embedding_backward)(T *dw, const T *dy, const int32_t *x, int64_t n, int64_t vocab,
                            int64_t dim)
{
    for (int64_t j = 0; j < vocab * dim; j++)
        dw[j] = (T)0;
    for (int64_t r = 0; r < n; r++) {
        T *dwr = dw + (int64_t)x[r] * dim;
        const T *dyr = dy + r * dim;
        for (int64_t j = 0; j < dim; j++)
            dwr[j] += dyr[j];
    }
}

/* --------------------------------------------------------------- one-hot */

/* ind: (outer, inner) int32 in [-depth, depth) (a negative one counts from
 * the end, as in ONNX);  y: (outer, depth, inner)
 *   y[o, d, i] = on if d == ind[o, i] (mod depth) else off */
void FN(onehot_forward)(T *y, const int32_t *ind, T off, T on, int64_t outer, int64_t depth,
                        int64_t inner)
{
    for (int64_t o = 0; o < outer; o++)
        for (int64_t d = 0; d < depth; d++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t k = ind[o * inner + i];
                if (k < 0)
                    k += depth;
                y[(o * depth + d) * inner + i] = k == d ? on : off;
            }
}

/* --------------------------------------------------------------- nonzero */

/* the number of x[i] != 0 */
int64_t FN(nonzero_count)(const T *x, int64_t n)
{
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++)
        count += x[i] != 0;
    return count;
}

/* x: shape[0..ndim), n elements with `count` nonzeros;  idx: (ndim, count)
 *   idx[:, k] = the multi-index of the k-th nonzero of x in row-major order
 *   (np.nonzero's arrays stacked) */
void FN(nonzero_forward)(int32_t *idx, const T *x, const int64_t *shape, int ndim, int64_t n,
                         int64_t count)
{
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (x[i] == 0)
            continue;
        int64_t rem = i;
        for (int d = ndim - 1; d >= 0; d--) {
            idx[d * count + k] = (int32_t)(rem % shape[d]);
            rem /= shape[d];
        }
        k++;
    }
}
