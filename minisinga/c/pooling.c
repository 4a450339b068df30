/* pooling.c -- 2-D max and average pooling.  Typed (f32, f64).
 *
 * x: (NC, H, W), the N*C planes of an (N, C, H, W) tensor; y: (NC, OH, OW).
 * The window of output (oh, ow) covers input rows h0 .. h0+KH-1 and columns
 * w0 .. w0+KW-1 with h0 = oh*SH - PT, w0 = ow*SW - PL (PT, PL: padding at the
 * top and left).  Only the cells inside x take part: padding is never a
 * maximum and is not counted in an average.  Python checks that every window
 * holds at least one real cell (padding smaller than the kernel).
 */
#include <string.h>
#include "minisinga.h"

#define MS_PAR_MIN 32768
#define MS_ROW_CHUNK 256 /* the average pools work on up to this many outputs of a row at once */

/* For window column j (0 <= j < KW): the output columns ow whose cell
 * iw = ow*SW - PL + j lies inside x, lo <= ow < hi.  The kernels below walk one
 * output row at a time, cell (i, j) of the window after cell (i, j) for every
 * output of the row: the same order of cells per output as a window-by-window
 * loop, but each inner loop is a plain pass over a row, which vectorises. */
static void cols_inside(int64_t *lo, int64_t *hi, int64_t j, int64_t W, int64_t SW,
                        int64_t PL, int64_t OW)
{
    int64_t a = PL - j, b = W + PL - j; /* need a <= ow*SW < b */
    /* (stride 1 skips the divisions: they cost more than a row of the loops below) */
    int64_t l = a <= 0 ? 0 : SW == 1 ? a : (a + SW - 1) / SW;
    int64_t h = b <= 0 ? 0 : SW == 1 ? b : (b + SW - 1) / SW;
    *lo = l < OW ? l : OW;
    *hi = h < OW ? h : OW;
    if (*hi < *lo)
        *hi = *lo;
}

/* Window cell (i, j) for outputs lo <= ow < hi of one row: the cell of output ow is
 * plane[base + ow*SW].  Replace the running maximum (yr, ar) where the cell wins.
 * All in 32-bit integers, like argmax itself (Python checks that a plane has fewer
 * than 2^31 cells), and with | and & instead of || and &&: no branches and one
 * lane width, so the compiler vectorises the loop. */
static inline void max_cells(T *restrict yr, int32_t *restrict ar, const T *restrict plane,
                             int32_t base, int32_t lo, int32_t hi, int32_t SW)
{
    for (int32_t ow = lo; ow < hi; ow++) {
        const int32_t cell = base + ow * SW;
        const T v = plane[cell], best = yr[ow];
        const int take = (ar[ow] < 0) | (v > best) | ((v != v) & (best == best));
        yr[ow] = take ? v : best;
        ar[ow] = take ? cell : ar[ow];
    }
}

/* --8<-- [start:max_pool2d_forward] */
/* y[p, oh, ow] = max over the window of x[p]
 * argmax[p, oh, ow] = h*W + w of that maximum within plane p.
 * Ties: the FIRST maximum in row-major window order wins (a later cell must
 * be strictly greater to replace it).  NaN propagates: the first NaN wins.
 * (argmax < 0 marks an output that has seen no cell yet.) */
void FN(max_pool2d_forward)(T *y, int32_t *argmax, const T *x, int64_t NC, int64_t H,
                            int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                            int64_t SH, int64_t SW, int64_t PT, int64_t PL)
{
#pragma omp parallel for if (NC * OH * OW * KH * KW > MS_PAR_MIN)
    for (int64_t p = 0; p < NC; p++) {
        const T *plane = x + p * H * W;
        for (int64_t oh = 0; oh < OH; oh++) {
            T *yr = y + (p * OH + oh) * OW;
            int32_t *ar = argmax + (p * OH + oh) * OW;
            for (int64_t ow = 0; ow < OW; ow++)
                ar[ow] = -1;
            for (int64_t i = 0; i < KH; i++) {
                const int64_t h = oh * SH - PT + i;
                if (h < 0 || h >= H)
                    continue;
                for (int64_t j = 0; j < KW; j++) {
                    int64_t lo, hi;
                    cols_inside(&lo, &hi, j, W, SW, PL, OW);
                    const int64_t base = h * W + j - PL; /* + ow*SW: the cell */
                    if (SW == 1) /* the constant stride lets the compiler vectorise */
                        max_cells(yr, ar, plane, (int32_t)base, (int32_t)lo, (int32_t)hi, 1);
                    else
                        max_cells(yr, ar, plane, (int32_t)base, (int32_t)lo, (int32_t)hi,
                                  (int32_t)SW);
                }
            }
        }
    }
}
/* --8<-- [end:max_pool2d_forward] */

/* --8<-- [start:max_pool2d_backward] */
/* dx[p, argmax[p, oh, ow]] += dy[p, oh, ow]   (dx zeroed first: it is written) */
void FN(max_pool2d_backward)(T *dx, const T *dy, const int32_t *argmax, int64_t NC,
                             int64_t H, int64_t W, int64_t OH, int64_t OW)
{
#pragma omp parallel for if (NC * H * W > MS_PAR_MIN)
    for (int64_t p = 0; p < NC; p++) {
        T *plane = dx + p * H * W;
        memset(plane, 0, (size_t)(H * W) * sizeof(T));
        const T *g = dy + p * OH * OW;
        const int32_t *idx = argmax + p * OH * OW;
        for (int64_t o = 0; o < OH * OW; o++)
            plane[idx[o]] += g[o];
    }
}
/* --8<-- [end:max_pool2d_backward] */

/* Window cell (i, j) for outputs a <= ow < b: add row[ow*SW] to acc[ow], count it. */
static inline void sum_cells(double *restrict acc, int64_t *restrict count,
                             const T *restrict row, int64_t a, int64_t b, int64_t SW)
{
    for (int64_t ow = a; ow < b; ow++) {
        acc[ow] += (double)row[ow * SW];
        count[ow] += 1;
    }
}

/* --8<-- [start:avg_pool2d_forward] */
/* y[p, oh, ow] = (1 / count) * sum over the window of x[p],
 * count = the number of window cells inside x (padding excluded, as SINGA).
 * The sums run in double, in row-major window order. */
void FN(avg_pool2d_forward)(T *y, const T *x, int64_t NC, int64_t H, int64_t W,
                            int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t SH,
                            int64_t SW, int64_t PT, int64_t PL)
{
#pragma omp parallel for if (NC * OH * OW * KH * KW > MS_PAR_MIN)
    for (int64_t p = 0; p < NC; p++) {
        const T *plane = x + p * H * W;
        for (int64_t oh = 0; oh < OH; oh++) {
            for (int64_t o0 = 0; o0 < OW; o0 += MS_ROW_CHUNK) { /* outputs [o0, o1) */
                const int64_t o1 = o0 + MS_ROW_CHUNK < OW ? o0 + MS_ROW_CHUNK : OW;
                double acc[MS_ROW_CHUNK];
                int64_t count[MS_ROW_CHUNK];
                for (int64_t ow = o0; ow < o1; ow++) {
                    acc[ow - o0] = 0.0;
                    count[ow - o0] = 0;
                }
                for (int64_t i = 0; i < KH; i++) {
                    const int64_t h = oh * SH - PT + i;
                    if (h < 0 || h >= H)
                        continue;
                    for (int64_t j = 0; j < KW; j++) {
                        int64_t lo, hi;
                        cols_inside(&lo, &hi, j, W, SW, PL, OW);
                        const T *row = plane + h * W + j - PL;
                        const int64_t a = lo > o0 ? lo : o0, b = hi < o1 ? hi : o1;
                        if (SW == 1) /* the constant stride lets the compiler vectorise */
                            sum_cells(acc - o0, count - o0, row, a, b, 1);
                        else
                            sum_cells(acc - o0, count - o0, row, a, b, SW);
                    }
                }
                T *yr = y + (p * OH + oh) * OW;
                for (int64_t ow = o0; ow < o1; ow++)
                    yr[ow] = (T)(acc[ow - o0] / (double)count[ow - o0]);
            }
        }
    }
}
/* --8<-- [end:avg_pool2d_forward] */

/* --8<-- [start:avg_pool2d_backward] */
/* dx[p, h, w] = sum over the windows (oh, ow) containing (h, w) of dy[p, oh, ow] / count
 * (dx zeroed first: it is written).  Each cell of dx receives its terms in the
 * order of (oh, ow): window columns j run backwards, so that ow runs forwards. */
void FN(avg_pool2d_backward)(T *dx, const T *dy, int64_t NC, int64_t H, int64_t W,
                             int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t SH,
                             int64_t SW, int64_t PT, int64_t PL)
{
#pragma omp parallel for if (NC * OH * OW * KH * KW > MS_PAR_MIN)
    for (int64_t p = 0; p < NC; p++) {
        T *plane = dx + p * H * W;
        memset(plane, 0, (size_t)(H * W) * sizeof(T));
        for (int64_t oh = 0; oh < OH; oh++) {
            const int64_t h0 = oh * SH - PT;
            const int64_t rows = (h0 + KH < H ? h0 + KH : H) - (h0 < 0 ? 0 : h0);
            for (int64_t o0 = 0; o0 < OW; o0 += MS_ROW_CHUNK) { /* outputs [o0, o1) */
                const int64_t o1 = o0 + MS_ROW_CHUNK < OW ? o0 + MS_ROW_CHUNK : OW;
                T g[MS_ROW_CHUNK]; /* g = dy / count, count = rows * columns inside x */
                for (int64_t ow = o0; ow < o1; ow++) {
                    const int64_t w0 = ow * SW - PL;
                    const int64_t cols = (w0 + KW < W ? w0 + KW : W) - (w0 < 0 ? 0 : w0);
                    g[ow - o0] = dy[(p * OH + oh) * OW + ow] / (T)(rows * cols);
                }
                for (int64_t i = 0; i < KH; i++) {
                    const int64_t h = h0 + i;
                    if (h < 0 || h >= H)
                        continue;
                    for (int64_t j = KW - 1; j >= 0; j--) {
                        int64_t lo, hi;
                        cols_inside(&lo, &hi, j, W, SW, PL, OW);
                        T *row = plane + h * W + j - PL;
                        const int64_t a = lo > o0 ? lo : o0, b = hi < o1 ? hi : o1;
                        if (SW == 1) /* the constant stride lets the compiler vectorise */
                            for (int64_t ow = a; ow < b; ow++)
                                row[ow] += g[ow - o0];
                        else
                            for (int64_t ow = a; ow < b; ow++)
                                row[ow * SW] += g[ow - o0];
                    }
                }
            }
        }
    }
}
/* --8<-- [end:avg_pool2d_backward] */
