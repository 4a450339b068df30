/* indexing.c -- data movement through an index map, embeddings, one-hot and
 * nonzero.  Typed (f32, f64).
 *
 * Many shape operations (slice, gather, pad, scatter_elements) are the same
 * loop: output element i comes from input element idx[i].  Python computes
 * the index map idx (int32, one entry per output element) from the shapes
 * alone; these kernels move the data.  The backward of such a gather is a
 * scatter-add through the same map.  Python has checked every index. */
#include "minisinga.h"
#include "ms_parallel.h"


/* --8<-- [start:gather_index] */
/* y[i] = x[idx[i]] if idx[i] >= 0, else fill   (a negative index marks
 * padding: pad's constant mode) */
void FN(gather_index)(T *y, const T *x, const int32_t *idx, T fill, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[i] = idx[i] >= 0 ? x[idx[i]] : fill);
}
/* --8<-- [end:gather_index] */

/* --8<-- [start:scatter_add_index] */
/* dx: nx elements, dy and idx: n elements
 *   dx[j] = sum of dy[i] over every i with idx[i] == j   (0 if none)
 * One thread, in order of i: several i may hit the same j, and a fixed
 * order of the additions makes the result bitwise reproducible. */
void FN(scatter_add_index)(T *dx, const T *dy, const int32_t *idx, int64_t nx, int64_t n)
{
    for (int64_t j = 0; j < nx; j++)
        dx[j] = (T)0;
    for (int64_t i = 0; i < n; i++)
        if (idx[i] >= 0)
            dx[idx[i]] += dy[i];
}
/* --8<-- [end:scatter_add_index] */

/* --8<-- [start:scatter_index] */
/* y[idx[i]] = u[i]   (y already holds a copy of x; the targets idx are distinct) */
void FN(scatter_index)(T *y, const T *u, const int32_t *idx, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[idx[i]] = u[i]);
}
/* --8<-- [end:scatter_index] */

/* --8<-- [start:fill_index] */
/* y[idx[i]] = value   (masks the gradient of the overwritten elements) */
void FN(fill_index)(T *y, T value, const int32_t *idx, int64_t n)
{
    MS_PARALLEL_FOR(i, n, y[idx[i]] = value);
}
/* --8<-- [end:fill_index] */

/* ------------------------------------------------------------- embedding */

/* --8<-- [start:embedding_forward] */
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
/* --8<-- [end:embedding_forward] */

/* --8<-- [start:embedding_backward] */
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
/* --8<-- [end:embedding_backward] */

/* --------------------------------------------------------------- one-hot */

/* --8<-- [start:onehot_forward] */
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
/* --8<-- [end:onehot_forward] */

/* --------------------------------------------------------------- nonzero */

/* --8<-- [start:nonzero_count] */
/* the number of x[i] != 0 */
int64_t FN(nonzero_count)(const T *x, int64_t n)
{
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++)
        count += x[i] != 0;
    return count;
}
/* --8<-- [end:nonzero_count] */

/* --8<-- [start:nonzero_forward] */
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
/* --8<-- [end:nonzero_forward] */
