/* pooling.c -- 2-D max and average pooling.  Typed (f32, f64).
 *
 * x: (NC, H, W), the N*C planes of an (N, C, H, W) tensor; y: (NC, OH, OW).
 * The window of output (oh, ow) covers input rows h0 .. h0+KH-1 and columns
 * w0 .. w0+KW-1 with h0 = oh*SH - PT, w0 = ow*SW - PL (PT, PL: padding at the
 * top and left).  Only the cells inside x take part: padding is never a
 * maximum and is not counted in an average.  Python checks that every window
 * holds at least one real cell (padding smaller than the kernel).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "minisinga.h"
#include "ms_parallel.h"

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

/* How many of the n window cells starting at a (a, a+1, .., a+n-1) lie in [0, size). */
static inline int64_t inside(int64_t a, int64_t n, int64_t size)
{
    const int64_t lo = a < 0 ? 0 : a, hi = a + n < size ? a + n : size;
    return hi > lo ? hi - lo : 0;
}

/* ------------------------------------------------------------- stride 1
 *
 * With stride 1 (the 3x3 pools of the example CNN) the loops above spend more
 * time on bookkeeping than on cells: an output row is 28 values, visited once
 * per window cell.  The layout trick of conv.c's forward_stride1 removes the
 * rows altogether.  Copy the plane into xp, padded: cell (hp, wp) of xp is
 * x[hp - PT, wp - PL], for Hp = OH + KH - 1 rows of Wp = OW + KW - 1 columns.
 * Let the output rows be Wp wide too (the extra KW - 1 columns are computed
 * and dropped).  Then the window cell (i, j) of output q = oh*Wp + ow is the
 * xp cell q + i*Wp + j: each window cell is ONE pass over all OH*Wp outputs,
 * a long loop that vectorises.  The last rows' cells reach KW - 1 past the end
 * of xp (only for dropped columns), hence `slack` more entries.
 *
 * cell_of[q'] says which cell of the plane the xp entry q' is (h*W + w), or -1
 * for padding; it is the same for every plane, so it is made once. */
typedef struct {
    int64_t Hp, Wp, L, slack, size; /* L = OH*Wp outputs; size = Hp*Wp + slack */
} padded_t;

static padded_t padded_geometry(int64_t OH, int64_t OW, int64_t KH, int64_t KW)
{
    padded_t g;
    g.Hp = OH + KH - 1;
    g.Wp = OW + KW - 1;
    g.L = OH * g.Wp;
    g.slack = KW - 1;
    g.size = g.Hp * g.Wp + g.slack;
    return g;
}

/* cell_of (g.size): h*W + w of the plane cell at each xp entry, -1 for padding */
static int32_t *make_cell_of(padded_t g, int64_t H, int64_t W, int64_t PT, int64_t PL)
{
    int32_t *cell_of = malloc((size_t)g.size * sizeof(int32_t));
    if (cell_of == NULL)
        return NULL;
    for (int64_t q = 0; q < g.size; q++) {
        const int64_t h = q / g.Wp - PT, w = q % g.Wp - PL;
        cell_of[q] = (q < g.Hp * g.Wp && h >= 0 && h < H && w >= 0 && w < W)
                         ? (int32_t)(h * W + w) : -1;
    }
    return cell_of;
}

/* xp = the plane, padded with the value `pad`.  (memcpy: a loop over a row of 28
 * values spends more on its start and its tail than on the copy.) */
static void pad_plane(T *restrict xp, const T *restrict plane, padded_t g, int64_t H,
                      int64_t W, int64_t PT, int64_t PL, T pad)
{
    const int64_t rows = H < g.Hp - PT ? H : g.Hp - PT, cols = W < g.Wp - PL ? W : g.Wp - PL;
    for (int64_t q = 0; q < g.size; q++)
        xp[q] = pad;
    for (int64_t h = 0; h < rows; h++)
        memcpy(xp + (h + PT) * g.Wp + PL, plane + h * W, (size_t)cols * sizeof(T));
}

/* Does v, met after best, replace it as the maximum?  The rules of max_pool2d_forward:
 * when it is strictly greater, or the first NaN.  (| and & instead of || and &&: no
 * branches, so the loops below vectorise.) */
static inline int takes(T v, T best)
{
    return (v > best) | ((v != v) & (best == best));
}

/* One pass of the stride-1 max pool: for k < n, (v[k], v_at[k]) replaces the running
 * maximum (best[k], at[k]) where it wins.  A function of its own, with restrict
 * pointers: inlined into the big loop below, the compiler ran out of registers and
 * kept `at` on the stack, and every pass waited on its own stores. */
static void max_pass(T *restrict best, int32_t *restrict at, const T *restrict v,
                     const int32_t *restrict v_at, int64_t n)
{
    for (int64_t k = 0; k < n; k++) {
        const T b = best[k], c = v[k];
        const int32_t a = at[k], c_at = v_at[k];
        const int take = takes(c, b);
        best[k] = take ? c : b;
        at[k] = take ? c_at : a;
    }
}

/* Max pooling, stride 1 (the rules of max_pool2d_forward: the first maximum in
 * row-major window order wins, the first NaN wins, padding never does).  Returns -1
 * (the caller then takes the row loops) without memory, or when the padded plane
 * has 2^31 entries or more.
 *
 * A maximum splits into rows: the first maximum of a window is the first maximum
 * among the first maxima of its rows (a row holding an earlier maximum, or an
 * earlier NaN, wins over the later rows by the same rule).  So, instead of
 * KH*KW passes over the outputs, one per window cell:
 *   1. (rv, ra)[e] = the first maximum of the KW entries xp[e .. e+KW-1] of a row
 *      and its cell, for every entry e of the padded plane (KW - 1 passes);
 *   2. (yb, ab)[q] = the first maximum of rv[q], rv[q + Wp], .. rv[q + (KH-1)*Wp],
 *      the KH row maxima of output q's window (KH - 1 passes).
 * KH + KW - 2 passes in all: 4 instead of 9 for a 3x3 window, each a long
 * branch-free loop.  Padding is -inf, which wins only a window whose real cells
 * are all -inf too (then ab < 0); that window's first real cell is its top-left
 * one inside x, set in step 3.  cell_of (make_cell_of) gives the cell of an entry. */
static int max_pool_stride1(T *y, int32_t *argmax, const T *x, int64_t NC, int64_t H,
                            int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                            int64_t PT, int64_t PL)
{
    const padded_t g = padded_geometry(OH, OW, KH, KW);
    const int64_t P = g.Hp * g.Wp; /* entries of the padded plane (without the slack) */
    if (g.size > INT32_MAX) /* the padded plane outgrows the 32-bit cell numbers */
        return -1;
    int32_t *cell_of = make_cell_of(g, H, W, PT, PL);
    if (cell_of == NULL)
        return -1;
    int failed = 0;
    ms_team team = ms_team_start();
    const int64_t chunk = NC / 16 + 1; /* 16 chunks of planes, as MS_PARALLEL_FOR */
#pragma omp parallel if (NC * OH * OW * KH * KW > MS_PAR_MIN)
    {
        T *xp = malloc((size_t)g.size * sizeof(T));
        T *rv = malloc((size_t)P * sizeof(T));
        int32_t *ra = malloc((size_t)P * sizeof(int32_t));
        T *yb = malloc((size_t)g.L * sizeof(T));
        int32_t *ab = malloc((size_t)g.L * sizeof(int32_t));
#pragma omp for schedule(dynamic, chunk) nowait
        for (int64_t p = 0; p < NC; p++) {
            if (xp == NULL || rv == NULL || ra == NULL || yb == NULL || ab == NULL) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            pad_plane(xp, x + p * H * W, g, H, W, PT, PL, (T)-INFINITY);
            /* 1. along the rows (reads up to KW - 1 entries into the slack) */
            for (int64_t e = 0; e < P; e++) {
                rv[e] = xp[e];
                ra[e] = cell_of[e];
            }
            for (int64_t j = 1; j < KW; j++)
                max_pass(rv, ra, xp + j, cell_of + j, P);
            /* 2. down the columns: row i of output q's window is rv[q + i*Wp] */
            for (int64_t q = 0; q < g.L; q++) {
                yb[q] = rv[q];
                ab[q] = ra[q];
            }
            for (int64_t i = 1; i < KH; i++)
                max_pass(yb, ab, rv + i * g.Wp, ra + i * g.Wp, g.L);
            /* 3. the outputs; a window won by padding takes its first real cell */
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    const int64_t q = oh * g.Wp + ow;
                    const int64_t h0 = oh > PT ? oh - PT : 0, w0 = ow > PL ? ow - PL : 0;
                    y[(p * OH + oh) * OW + ow] = yb[q];
                    argmax[(p * OH + oh) * OW + ow] = ab[q] >= 0 ? ab[q] : (int32_t)(h0 * W + w0);
                }
        }
        ms_team_member_done(&team);
        free(xp);
        free(rv);
        free(ra);
        free(yb);
        free(ab);
    }
    ms_team_note(&team, (NC + chunk - 1) / chunk);
    free(cell_of);
    return failed ? -1 : 0;
}

/* count[oh*Wp + ow] = the number of cells of window (oh, ow) inside x, stride 1:
 * (rows inside) * (columns inside); 1 in the dropped columns (ow >= OW), which
 * are divided too.  The same for every plane, so the average pools below make it
 * once, and their division is one long pass over the OH*Wp outputs that
 * vectorises (over rows of 28, the last values of each row were divided one at a
 * time, and with the counts computed in the loop that cost more than the sums). */
static double *make_counts(padded_t g, int64_t H, int64_t W, int64_t OH, int64_t OW,
                           int64_t KH, int64_t KW, int64_t PT, int64_t PL)
{
    double *count = malloc((size_t)g.L * sizeof(double));
    if (count == NULL)
        return NULL;
    for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < g.Wp; ow++)
            count[oh * g.Wp + ow] =
                ow < OW ? (double)(inside(oh - PT, KH, H) * inside(ow - PL, KW, W)) : 1.0;
    return count;
}

/* Average pooling, stride 1: the same sums as avg_pool2d_forward, in the same
 * order (in double, each window row summed from 0.0, then the row sums added from
 * 0.0, top row first); padding adds 0.0, which leaves a double sum unchanged.
 * That order makes the sums separable, as the maximum of max_pool_stride1:
 *   1. rs[e] = xp[e] + .. + xp[e + KW - 1], the row sums, for every entry e of the
 *      padded plane (KW passes);
 *   2. acc[q] = rs[q] + rs[q + Wp] + .. + rs[q + (KH-1)*Wp] (KH passes).
 * KH + KW additions per output instead of KH*KW: 6 instead of 9 for 3x3, and
 * the row sums of step 1 are each used by KH outputs. */
static int avg_pool_stride1(T *y, const T *x, int64_t NC, int64_t H, int64_t W,
                            int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t PT,
                            int64_t PL)
{
    const padded_t g = padded_geometry(OH, OW, KH, KW);
    double *count = make_counts(g, H, W, OH, OW, KH, KW, PT, PL);
    if (count == NULL)
        return -1;
    int failed = 0;
    ms_team team = ms_team_start();
    const int64_t chunk = NC / 16 + 1; /* 16 chunks of planes, as MS_PARALLEL_FOR */
#pragma omp parallel if (NC * OH * OW * KH * KW > MS_PAR_MIN)
    {
        T *xp = malloc((size_t)g.size * sizeof(T));
        double *rs = malloc((size_t)(g.Hp * g.Wp) * sizeof(double));
        double *acc = malloc((size_t)g.L * sizeof(double));
        T *yb = malloc((size_t)g.L * sizeof(T));
#pragma omp for schedule(dynamic, chunk) nowait
        for (int64_t p = 0; p < NC; p++) {
            if (xp == NULL || rs == NULL || acc == NULL || yb == NULL) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            pad_plane(xp, x + p * H * W, g, H, W, PT, PL, (T)0);
            /* 1. along the rows (reads up to KW - 1 entries into the slack) */
            for (int64_t e = 0; e < g.Hp * g.Wp; e++)
                rs[e] = 0.0;
            for (int64_t j = 0; j < KW; j++)
                for (int64_t e = 0; e < g.Hp * g.Wp; e++)
                    rs[e] += (double)xp[e + j];
            /* 2. down the columns: row i of output q's window sums to rs[q + i*Wp] */
            for (int64_t q = 0; q < g.L; q++)
                acc[q] = 0.0;
            for (int64_t i = 0; i < KH; i++)
                for (int64_t q = 0; q < g.L; q++)
                    acc[q] += rs[q + i * g.Wp];
            /* 3. the averages, then the rows of y without the dropped columns */
            for (int64_t q = 0; q < g.L; q++)
                yb[q] = (T)(acc[q] / count[q]);
            for (int64_t oh = 0; oh < OH; oh++)
                memcpy(y + (p * OH + oh) * OW, yb + oh * g.Wp, (size_t)OW * sizeof(T));
        }
        ms_team_member_done(&team);
        free(xp);
        free(rs);
        free(acc);
        free(yb);
    }
    ms_team_note(&team, (NC + chunk - 1) / chunk);
    free(count);
    return failed ? -1 : 0;
}

/* The backward of avg_pool_stride1: gp (outputs, Wp wide, 0 in the dropped
 * columns) = dy / count; the padded dx cell e receives gp[e - i*Wp - j] from
 * each window cell (i, j), cells taken in reverse (i, j) order so that every dx
 * cell receives its terms in (oh, ow) order, as in avg_pool2d_backward.  Then the
 * inside of the padded dx is dx.
 * One pass per window cell, each reading gp shifted by i*Wp + j: gp has F zeros in
 * front (the cells e < i*Wp + j get 0.0, which leaves their sums unchanged) and
 * (KH - 1)*Wp behind.  (Adding gp into dxp shifted instead, each pass read what
 * the pass before had just stored one place over, and waited for it.) */
static int avg_pool_backward_stride1(T *dx, const T *dy, int64_t NC, int64_t H, int64_t W,
                                     int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                     int64_t PT, int64_t PL)
{
    const padded_t g = padded_geometry(OH, OW, KH, KW);
    const int64_t P = g.Hp * g.Wp, F = (KH - 1) * g.Wp + KW - 1;
    double *count = make_counts(g, H, W, OH, OW, KH, KW, PT, PL);
    if (count == NULL)
        return -1;
    const int64_t rows = H < g.Hp - PT ? H : g.Hp - PT, cols = W < g.Wp - PL ? W : g.Wp - PL;
    int failed = 0;
    ms_team team = ms_team_start();
    const int64_t chunk = NC / 16 + 1; /* 16 chunks of planes, as MS_PARALLEL_FOR */
#pragma omp parallel if (NC * OH * OW * KH * KW > MS_PAR_MIN)
    {
        T *gbuf = malloc((size_t)(F + P) * sizeof(T)); /* F zeros, gp (L), zeros */
        T *gp = gbuf + F;
        T *dxp = malloc((size_t)P * sizeof(T));
        if (gbuf != NULL)
            for (int64_t q = 0; q < F + P; q++)
                gbuf[q] = (T)0;
#pragma omp for schedule(dynamic, chunk) nowait
        for (int64_t p = 0; p < NC; p++) {
            if (gbuf == NULL || dxp == NULL) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            for (int64_t oh = 0; oh < OH; oh++)
                memcpy(gp + oh * g.Wp, dy + (p * OH + oh) * OW, (size_t)OW * sizeof(T));
            for (int64_t q = 0; q < g.L; q++) /* (the dropped columns: 0 / 1) */
                gp[q] /= (T)count[q];
            for (int64_t e = 0; e < P; e++)
                dxp[e] = (T)0;
            for (int64_t i = KH - 1; i >= 0; i--)
                for (int64_t j = KW - 1; j >= 0; j--) {
                    const T *src = gp - (i * g.Wp + j);
                    for (int64_t e = 0; e < P; e++)
                        dxp[e] += src[e];
                }
            /* (rows, cols: x's rows and columns inside the padded plane; any
             * others, beyond every window, receive nothing) */
            for (int64_t h = 0; h < H; h++)
                for (int64_t w = 0; w < W; w++)
                    dx[(p * H + h) * W + w] = (h < rows && w < cols)
                                                  ? dxp[(h + PT) * g.Wp + w + PL] : (T)0;
        }
        ms_team_member_done(&team);
        free(gbuf);
        free(dxp);
    }
    ms_team_note(&team, (NC + chunk - 1) / chunk);
    free(count);
    return failed ? -1 : 0;
}


/* Windows that tile the plane exactly: stride = kernel, no padding, H = OH*KH and
 * W = OW*KW (LeNet's 2x2 pools of stride 2).  Then every input row is OW whole
 * windows side by side, and the plane read as one long row is H*OW windows of KW
 * values: the maxima along the rows are one long pass per window column j (at a
 * constant stride, which vectorises), and the maxima of KH of those, down the
 * columns, give the outputs -- the separable order of max_pool_stride1, with the
 * same winners (first maximum in row-major order, first NaN).  The general loops
 * below visit a row of outputs once per window cell, which for 2x2 windows over
 * rows of 12 outputs cost more in bookkeeping than in comparisons. */
static inline void tile_pass(T *restrict rv, int32_t *restrict ra, const T *restrict plane,
                             int64_t R, int64_t KW, int64_t j)
{
    for (int64_t r = 0; r < R; r++) {
        const int32_t cell = (int32_t)(r * KW + j);
        const T v = plane[cell], best = rv[r];
        const int take = takes(v, best);
        rv[r] = take ? v : best;
        ra[r] = take ? cell : ra[r];
    }
}

static int max_pool_tiles(T *y, int32_t *argmax, const T *x, int64_t NC, int64_t H,
                          int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW)
{
    const int64_t R = H * OW; /* windows along the rows, over the whole plane */
    const int64_t chunk = NC / 16 + 1;
    int failed = 0;
    ms_team team = ms_team_start();
#pragma omp parallel if (NC * OH * OW * KH * KW > MS_PAR_MIN)
    {
        T *rv = malloc((size_t)R * sizeof(T));
        int32_t *ra = malloc((size_t)R * sizeof(int32_t));
#pragma omp for schedule(dynamic, chunk) nowait
        for (int64_t p = 0; p < NC; p++) {
            if (rv == NULL || ra == NULL) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            const T *plane = x + p * H * W;
            /* 1. along the rows: rv[r] = the maximum of plane[r*KW .. r*KW + KW) */
            for (int64_t r = 0; r < R; r++) {
                rv[r] = plane[r * KW];
                ra[r] = (int32_t)(r * KW);
            }
            for (int64_t j = 1; j < KW; j++) {
                if (KW == 2) /* a constant stride lets the compiler vectorise */
                    tile_pass(rv, ra, plane, R, 2, 1);
                else
                    tile_pass(rv, ra, plane, R, KW, j);
            }
            /* 2. down the columns: output (oh, ow) takes rows oh*KH .. oh*KH + KH */
            for (int64_t oh = 0; oh < OH; oh++) {
                T *yr = y + (p * OH + oh) * OW;
                int32_t *ar = argmax + (p * OH + oh) * OW;
                const T *first = rv + oh * KH * OW;
                const int32_t *first_at = ra + oh * KH * OW;
                for (int64_t ow = 0; ow < OW; ow++) {
                    yr[ow] = first[ow];
                    ar[ow] = first_at[ow];
                }
                for (int64_t i = 1; i < KH; i++)
                    max_pass(yr, ar, first + i * OW, first_at + i * OW, OW);
            }
        }
        ms_team_member_done(&team);
        free(rv);
        free(ra);
    }
    ms_team_note(&team, (NC + chunk - 1) / chunk);
    return failed ? -1 : 0;
}

/* y[p, oh, ow] = max over the window of x[p]
 * argmax[p, oh, ow] = h*W + w of that maximum within plane p.
 * Ties: the FIRST maximum in row-major window order wins (a later cell must
 * be strictly greater to replace it).  NaN propagates: the first NaN wins.
 * (argmax < 0 marks an output that has seen no cell yet.) */
void FN(max_pool2d_forward)(T *y, int32_t *argmax, const T *x, int64_t NC, int64_t H,
                            int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                            int64_t SH, int64_t SW, int64_t PT, int64_t PL)
{
    if (SH == 1 && SW == 1 &&
        max_pool_stride1(y, argmax, x, NC, H, W, OH, OW, KH, KW, PT, PL) == 0)
        return;
    if (SH == KH && SW == KW && PT == 0 && PL == 0 && H == OH * KH && W == OW * KW &&
        max_pool_tiles(y, argmax, x, NC, H, W, OH, OW, KH, KW) == 0)
        return;
    MS_PARALLEL_FOR_WORK(p, NC, NC * OH * OW * KH * KW, {
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
                    /* a constant stride lets the compiler vectorise (2: LeNet's pools) */
                    if (SW == 1)
                        max_cells(yr, ar, plane, (int32_t)base, (int32_t)lo, (int32_t)hi, 1);
                    else if (SW == 2)
                        max_cells(yr, ar, plane, (int32_t)base, (int32_t)lo, (int32_t)hi, 2);
                    else
                        max_cells(yr, ar, plane, (int32_t)base, (int32_t)lo, (int32_t)hi,
                                  (int32_t)SW);
                }
            }
        }
    });
}

/* dx[p, argmax[p, oh, ow]] += dy[p, oh, ow]   (dx zeroed first: it is written) */
void FN(max_pool2d_backward)(T *dx, const T *dy, const int32_t *argmax, int64_t NC,
                             int64_t H, int64_t W, int64_t OH, int64_t OW)
{
    MS_PARALLEL_FOR_WORK(p, NC, NC * H * W, {
        T *plane = dx + p * H * W;
        memset(plane, 0, (size_t)(H * W) * sizeof(T));
        const T *g = dy + p * OH * OW;
        const int32_t *idx = argmax + p * OH * OW;
        for (int64_t o = 0; o < OH * OW; o++)
            plane[idx[o]] += g[o];
    });
}

/* Window cell (i, j) for outputs a <= ow < b: add row[ow*SW] to acc[ow], count it. */
static inline void sum_cells(double *restrict acc, int64_t *restrict count,
                             const T *restrict row, int64_t a, int64_t b, int64_t SW)
{
    for (int64_t ow = a; ow < b; ow++) {
        acc[ow] += (double)row[ow * SW];
        count[ow] += 1;
    }
}

/* y[p, oh, ow] = (1 / count) * sum over the window of x[p],
 * count = the number of window cells inside x (padding excluded, as SINGA).
 * The sums run in double: each window row is summed on its own (racc, from 0.0,
 * left to right), then the row sums are added (acc, from 0.0, top row first).
 * That order, which the CUDA kernel follows too, lets the stride-1 kernel
 * (avg_pool_stride1) sum each row once for the KH windows that share it. */
void FN(avg_pool2d_forward)(T *y, const T *x, int64_t NC, int64_t H, int64_t W,
                            int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t SH,
                            int64_t SW, int64_t PT, int64_t PL)
{
    if (SH == 1 && SW == 1 && avg_pool_stride1(y, x, NC, H, W, OH, OW, KH, KW, PT, PL) == 0)
        return;
    MS_PARALLEL_FOR_WORK(p, NC, NC * OH * OW * KH * KW, {
        const T *plane = x + p * H * W;
        for (int64_t oh = 0; oh < OH; oh++) {
            for (int64_t o0 = 0; o0 < OW; o0 += MS_ROW_CHUNK) { /* outputs [o0, o1) */
                const int64_t o1 = o0 + MS_ROW_CHUNK < OW ? o0 + MS_ROW_CHUNK : OW;
                double acc[MS_ROW_CHUNK], racc[MS_ROW_CHUNK];
                int64_t count[MS_ROW_CHUNK];
                for (int64_t ow = o0; ow < o1; ow++) {
                    acc[ow - o0] = 0.0;
                    count[ow - o0] = 0;
                }
                for (int64_t i = 0; i < KH; i++) {
                    const int64_t h = oh * SH - PT + i;
                    if (h < 0 || h >= H)
                        continue;
                    for (int64_t ow = o0; ow < o1; ow++)
                        racc[ow - o0] = 0.0;
                    for (int64_t j = 0; j < KW; j++) {
                        int64_t lo, hi;
                        cols_inside(&lo, &hi, j, W, SW, PL, OW);
                        const T *row = plane + h * W + j - PL;
                        const int64_t a = lo > o0 ? lo : o0, b = hi < o1 ? hi : o1;
                        if (SW == 1) /* the constant stride lets the compiler vectorise */
                            sum_cells(racc - o0, count - o0, row, a, b, 1);
                        else
                            sum_cells(racc - o0, count - o0, row, a, b, SW);
                    }
                    for (int64_t ow = o0; ow < o1; ow++)
                        acc[ow - o0] += racc[ow - o0];
                }
                T *yr = y + (p * OH + oh) * OW;
                for (int64_t ow = o0; ow < o1; ow++)
                    yr[ow] = (T)(acc[ow - o0] / (double)count[ow - o0]);
            }
        }
    });
}

/* dx[p, h, w] = sum over the windows (oh, ow) containing (h, w) of dy[p, oh, ow] / count
 * (dx zeroed first: it is written).  Each cell of dx receives its terms in the
 * order of (oh, ow): window columns j run backwards, so that ow runs forwards. */
void FN(avg_pool2d_backward)(T *dx, const T *dy, int64_t NC, int64_t H, int64_t W,
                             int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t SH,
                             int64_t SW, int64_t PT, int64_t PL)
{
    if (SH == 1 && SW == 1 &&
        avg_pool_backward_stride1(dx, dy, NC, H, W, OH, OW, KH, KW, PT, PL) == 0)
        return;
    MS_PARALLEL_FOR_WORK(p, NC, NC * OH * OW * KH * KW, {
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
    });
}
