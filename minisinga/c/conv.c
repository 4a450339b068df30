/* conv.c -- convolution lowered onto GEMM: im2col, col2im, and conv2d_forward /
 * conv2d_backward, which run them and the GEMMs image by image.  Typed (f32, f64).
 *
 * This file is the reference: the algorithm docs/ops/convolution.md derives and the
 * CUDA twin (minisinga/cuda/conv.cu) runs.  It computes every convolution.  Faster
 * CPU code for the common cases (stride 1 above all) lives in conv_fast.c; which
 * code runs is decided in one place, "which code runs" at the end of this file, and
 * tests/test_conv.py checks the fast code against this file's.
 *
 * A 2-D convolution (cross-correlation, as in every deep-learning library) is
 * lowered onto the one fast kernel we have, GEMM (matmul.c).  For each image n:
 *
 *   1. im2col copies every receptive field of x[n] into one column of a matrix
 *      col_n (C*KH*KW, OH*OW);
 *   2. y[n] (O, OH*OW) = w (O, C*KH*KW) @ col_n + b is then one GEMM (per group);
 *   3. backward: dw = sum_n dy[n] @ col_n^T and dcol_n = w^T @ dy[n] are GEMMs too,
 *      and col2im (the adjoint of im2col) adds the columns of dcol_n back into dx[n].
 *
 * Why: all the arithmetic runs in GEMM, so every speed-up of GEMM speeds up
 * convolution, and groups, dilation, stride and asymmetric padding cost
 * nothing extra (they only change which input element a column entry copies).
 * The price is memory: col_n holds KH*KW copies of (almost) every input element
 * of the image; for a 3x3 kernel that is ~9 times the image.
 *
 * Why image by image: col_n of ONE image (0.9 MiB for C = 32 channels of 28x28 and a
 * 3x3 kernel) still sits in the L2 cache when the GEMM reads it, where one col for
 * the whole batch (29 MiB for a batch of 32) would go out to memory and back.  For y
 * and dx the images are shared out among the threads, each with its own col buffer,
 * so the threads never wait for each other (the GEMM inside runs on the calling
 * thread); dw adds the images in eight fixed chunks, which the threads share.
 * Backward recomputes im2col from x instead of keeping col from forward: that saves
 * a buffer 9 times the size of x, for a copy that costs little in cache.
 *
 * Sizes: x (N, C, H, W); w (O, C/G, KH, KW); b (O,); y, dy (N, O, OH, OW);
 * K = C/G*KH*KW rows of col_n per group, Og = O/G, P = OH*OW.  The geometry
 * travels as one struct, ms_conv_geom (minisinga.h):
 *   input row of kernel tap i at output row oh:  ih = oh*SH - PT + i*DH
 *   input col of kernel tap j at output col ow:  iw = ow*SW - PL + j*DW
 *   (PT, PL: padding at the top and left; the bottom/right padding only
 *   enters through OH and OW.)  Taps that fall into the padding read 0.
 */
#include <stdlib.h>
#include <string.h>
#include "minisinga.h"
#include "ms_parallel.h"
#include "ms_gemm.h"
#include "ms_sum.h"
#include "conv_fast.h"


/* The output columns ow whose input column iw = ow*SW + off lies in [0, W):
 * lo <= ow < hi.  Outside that range a tap reads padding. */
static void valid_range(int64_t *lo, int64_t *hi, int64_t off, int64_t W, int64_t SW,
                            int64_t OW)
{
    /* smallest ow with ow*SW + off >= 0, and smallest ow with ow*SW + off >= W */
    int64_t a = -off, b = W - off;
    int64_t l = a <= 0 ? 0 : (a + SW - 1) / SW;
    int64_t h = b <= 0 ? 0 : (b + SW - 1) / SW;
    *lo = l < OW ? l : OW;
    *hi = h < OW ? h : OW;
    if (*hi < *lo)
        *hi = *lo;
}

/* x: (N, C, H, W) -> col: (C*KH*KW, N*OH*OW)
 *   col[(c*KH + i)*KW + j, (n*OH + oh)*OW + ow] = x[n, c, ih, iw]   (0 in the padding)
 * Row r = (c, i, j) matches w (O, C, KH, KW) viewed as (O, C*KH*KW), so with
 * groups the rows of group g are the contiguous block c in [g*C/G, (g+1)*C/G).
 * (The convolution below calls it with N = 1: one image's col_n.) */
void FN(im2col)(T *col, const T *x, ms_conv_geom geom)
{
    const int64_t N = geom.N, C = geom.C, H = geom.H, W = geom.W, KH = geom.KH, KW = geom.KW;
    const int64_t SH = geom.SH, SW = geom.SW, PT = geom.PT, PL = geom.PL, DH = geom.DH;
    const int64_t DW = geom.DW, OH = geom.OH, OW = geom.OW, P = OH * OW, rows = C * KH * KW;
#pragma omp parallel for collapse(2) if (rows * N * P > MS_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t n = 0; n < N; n++) {
            const int64_t c = r / (KH * KW), i = (r / KW) % KH, j = r % KW;
            const T *plane = x + (n * C + c) * H * W;
            T *out = col + r * N * P + n * P;
            int64_t lo, hi;
            valid_range(&lo, &hi, j * DW - PL, W, SW, OW);
            for (int64_t oh = 0; oh < OH; oh++) {
                const int64_t ih = oh * SH - PT + i * DH;
                T *o = out + oh * OW;
                if (ih < 0 || ih >= H) {
                    memset(o, 0, (size_t)OW * sizeof(T));
                    continue;
                }
                const int64_t base = ih * W + j * DW - PL; /* + ow*SW: the input index */
                for (int64_t ow = 0; ow < lo; ow++)
                    o[ow] = 0;
                if (SW == 1) /* the common case: a contiguous run of the input row */
                    memcpy(o + lo, plane + base + lo, (size_t)(hi - lo) * sizeof(T));
                else
                    for (int64_t ow = lo; ow < hi; ow++)
                        o[ow] = plane[base + ow * SW];
                for (int64_t ow = hi; ow < OW; ow++)
                    o[ow] = 0;
            }
        }
    }
}

/* The adjoint of im2col: dcol (C*KH*KW, N*OH*OW) -> dx (N, C, H, W)
 *   dx[n, c, h, w] = sum over (i, j, oh, ow) with ih = h, iw = w of dcol[(c, i, j), (n, oh, ow)]
 * dx is written (zeroed, then summed into).  Each (n, c) plane belongs to one
 * thread and is summed in a fixed order, so the result is deterministic. */
void FN(col2im)(T *dx, const T *dcol, ms_conv_geom geom)
{
    const int64_t N = geom.N, C = geom.C, H = geom.H, W = geom.W, KH = geom.KH, KW = geom.KW;
    const int64_t SH = geom.SH, SW = geom.SW, PT = geom.PT, PL = geom.PL, DH = geom.DH;
    const int64_t DW = geom.DW, OH = geom.OH, OW = geom.OW, P = OH * OW;
#pragma omp parallel for collapse(2) if (C * KH * KW * N * P > MS_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        for (int64_t c = 0; c < C; c++) {
            T *plane = dx + (n * C + c) * H * W;
            memset(plane, 0, (size_t)(H * W) * sizeof(T));
            for (int64_t i = 0; i < KH; i++) {
                for (int64_t j = 0; j < KW; j++) {
                    const T *src = dcol + ((c * KH + i) * KW + j) * N * P + n * P;
                    int64_t lo, hi;
                    valid_range(&lo, &hi, j * DW - PL, W, SW, OW);
                    for (int64_t oh = 0; oh < OH; oh++) {
                        const int64_t ih = oh * SH - PT + i * DH;
                        if (ih < 0 || ih >= H)
                            continue;
                        const int64_t base = ih * W + j * DW - PL;
                        const T *s = src + oh * OW;
                        if (SW == 1) { /* contiguous: lets the compiler vectorise */
                            T *restrict d = plane + base + lo; /* (dx and dcol are apart) */
                            const T *restrict r = s + lo;
#pragma omp simd
                            for (int64_t ow = 0; ow < hi - lo; ow++)
                                d[ow] += r[ow];
                        } else {
                            for (int64_t ow = lo; ow < hi; ow++)
                                plane[base + ow * SW] += s[ow];
                        }
                    }
                }
            }
        }
    }
}

/* ---------------------------------------------------------- image by image */

/* One image's geometry: the same convolution with N = 1 (for im2col / col2im). */
static ms_conv_geom one_image(ms_conv_geom geom)
{
    geom.N = 1;
    return geom;
}

/* y[n, g*Og + o, :] (P) = sum_k w[g*Og + o, k] * col_n[g*K + k, :] + b[g*Og + o]
 * with col_n = im2col(x[n]) (C*KH*KW, P): one GEMM per image and group. */
static int forward_reference(T *y, const T *x, const T *w, const T *b, ms_conv_geom geom)
{
    const int64_t N = geom.N, O = geom.O, G = geom.G, P = geom.OH * geom.OW, Og = O / G;
    const int64_t K = geom.C / G * geom.KH * geom.KW, xsize = geom.C * geom.H * geom.W;
    int failed = 0;
    ms_team team = ms_team_start();
#pragma omp parallel if (N > 1 && N * O * P * K > MS_CONV_PAR_MIN)
    {
        T *col = malloc((size_t)(G * K * P + 1) * sizeof(T));
#pragma omp for schedule(dynamic, 1) nowait
        for (int64_t n = 0; n < N; n++) {
            if (col == NULL) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            T *yn = y + n * O * P;
            FN(im2col)(col, x + n * xsize, one_image(geom));
            for (int64_t g = 0; g < G; g++)
                FN(gemm)(yn + g * Og * P, w + g * Og * K, col + g * K * P, Og, P, K, 0, 0,
                         (T)1, (T)0);
            if (b != NULL)
                for (int64_t o = 0; o < O; o++)
                    for (int64_t p = 0; p < P; p++)
                        yn[o * P + p] += b[o];
        }
        ms_team_member_done(&team);
        free(col);
    }
    ms_team_note(&team, N);
    return failed ? -1 : 0;
}

/* dx[n] = col2im(dcol_n),  dcol_n[g*K:(g+1)*K] (K, P) = w[g]^T (K, Og) @ dy[n, g] (Og, P).
 * Image by image, each thread with its own dcol buffer (written by the GEMM, then read
 * by col2im while it is still in the L2 cache). */
static int backward_data_reference(T *dx, const T *dy, const T *w, ms_conv_geom geom)
{
    const int64_t N = geom.N, O = geom.O, G = geom.G, P = geom.OH * geom.OW, Og = O / G;
    const int64_t K = geom.C / G * geom.KH * geom.KW, xsize = geom.C * geom.H * geom.W;
    int failed = 0;
    ms_team team = ms_team_start();
#pragma omp parallel if (N > 1 && N * O * P * K > MS_CONV_PAR_MIN)
    {
        T *dcol = malloc((size_t)(G * K * P + 1) * sizeof(T));
#pragma omp for schedule(dynamic, 1) nowait
        for (int64_t n = 0; n < N; n++) {
            if (dcol == NULL) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            for (int64_t g = 0; g < G; g++)
                FN(gemm)(dcol + g * K * P, w + g * Og * K, dy + n * O * P + g * Og * P, K, P,
                         Og, 1, 0, (T)1, (T)0);
            FN(col2im)(dx + n * xsize, dcol, one_image(geom));
        }
        ms_team_member_done(&team);
        free(dcol);
    }
    ms_team_note(&team, N);
    return failed ? -1 : 0;
}

/* dw[g] (Og, K) = sum_n dy[n, g] (Og, P) @ col_n[g]^T (P, K),  col_n = im2col(x[n]):
 * one GEMM per image and group, col_n[g] being the transposed operand.  The sum over
 * n is cut into MS_CONV_CHUNKS fixed chunks of images, as in conv_fast.c's dw: each
 * chunk adds its images in order (beta = 0 for its first: written, not accumulated),
 * the first chunk straight into dw and the others into buffers of their own, which
 * are then added to dw in chunk order.  The chunks do not depend on the number of
 * threads, so neither do the bits; and the threads share the chunks. */
static int backward_weight_reference(T *dw, const T *dy, const T *x, ms_conv_geom geom)
{
    const int64_t N = geom.N, O = geom.O, G = geom.G, P = geom.OH * geom.OW, Og = O / G;
    const int64_t K = geom.C / G * geom.KH * geom.KW, xsize = geom.C * geom.H * geom.W;
    const int64_t wsize = O * K, chunks = N < MS_CONV_CHUNKS ? N : MS_CONV_CHUNKS;
    if (N == 0) { /* no images: an empty sum */
        memset(dw, 0, (size_t)wsize * sizeof(T));
        return 0;
    }
    T *part = malloc((size_t)((chunks - 1) * wsize + 1) * sizeof(T)); /* chunks 1, 2, ... */
    if (part == NULL)
        return -1;
    int failed = 0;
    ms_team team = ms_team_start();
#pragma omp parallel if (chunks > 1 && N * O * P * K > MS_CONV_PAR_MIN)
    {
        T *col = malloc((size_t)(G * K * P + 1) * sizeof(T));
#pragma omp for schedule(dynamic, 1) nowait
        for (int64_t ch = 0; ch < chunks; ch++) {
            if (col == NULL) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            T *sum = ch == 0 ? dw : part + (ch - 1) * wsize;
            for (int64_t n = ch * N / chunks; n < (ch + 1) * N / chunks; n++) {
                FN(im2col)(col, x + n * xsize, one_image(geom));
                for (int64_t g = 0; g < G; g++)
                    FN(gemm)(sum + g * Og * K, dy + n * O * P + g * Og * P, col + g * K * P,
                             Og, K, P, 0, 1, (T)1, n == ch * N / chunks ? (T)0 : (T)1);
            }
        }
        ms_team_member_done(&team);
        free(col);
    }
    ms_team_note(&team, chunks);
    for (int64_t ch = 1; ch < chunks; ch++) /* dw = chunk 0 + chunk 1 + ..., in order */
        for (int64_t i = 0; i < wsize; i++)
            dw[i] += part[(ch - 1) * wsize + i];
    free(part);
    return failed ? -1 : 0;
}

/* ------------------------------------------------------------ which code runs
 *
 * The one place that decides.  With ms_conv_fast_paths = 1 (the default) a part
 * whose case conv_fast.c covers goes there; everything else, and every part when
 * ms_conv_fast_paths = 0, runs the reference code above (and with 2, for the tests,
 * the conditions on channels below are dropped):
 *
 *   part  reference (above)        fast (conv_fast.c)
 *   y     im2col + GEMM            SH = SW = 1:                      conv2d_forward_stride1
 *   dx    GEMM + col2im            SH = SW = 1, extra_dx <= 1.4:     conv2d_backward_data_stride1
 *   dw    im2col + GEMM (col^T)    SH = SW = 1, DW = 1,
 *                                  extra_dw <= 1.25:                 conv2d_backward_weight_stride1
 *                                  other geometries, C/G >= 8:       conv2d_backward_weight_rows
 *   db    row sums of dy           (the same code for both, below)
 *
 * The conditions on dx and dw are there because the fast code is not always less
 * work.  Its GEMMs are shaped differently from the reference's, and extra_dx and
 * extra_dw (below) are how many times the reference's multiply-adds they do:
 *   - dx's GEMM has one row per input channel, and the micro-kernel computes rows
 *     MR = 8 at a time: for the one grey channel of a digit it computes 8 and keeps 1.
 *     And as a convolution of dy padded all round, it multiplies the padding's zeros
 *     too: for a 5x5 kernel without padding on a 12x12 image (LeNet's second layer)
 *     it computes a 12x16 output where the reference's GEMM has 8x8 columns.
 *   - dw's GEMM per kernel row has KW * C/G columns, computed NR = 32 at a time
 *     (floats, AVX-512): 3 of them are used for one channel.  And its rows of dy are
 *     OW + KW - 1 wide instead of OW.
 * At the same work the fast code is 1.2x (dw) to 1.45x (dx) as fast (conv_fast.c's
 * header), hence the thresholds.  `python bench/bench_conv.py --in-channels C
 * [--reference]`: float32, 1 thread, AMD EPYC (Zen 4), best of 15 in CPU time, ms
 * (2026-12-07):
 *
 *   C           1     4     8     16    32    64
 *   dx fast     1.47  1.49  1.52  2.76                  (extra_dx: 8.6 2.1 1.07 1.07)
 *   dx ref      0.45  1.08  2.24  4.04
 *   dw fast     2.96  3.08  3.13  4.90  6.68  13.2      (extra_dw: 11 2.9 1.43 1.43 1.07 1.07)
 *   dw ref      0.70  1.69  2.47  4.55  7.66  14.6
 *
 * and LeNet's second layer (20 -> 50 channels, 5x5, 12x12, no padding): dx 3.8 fast
 * against 1.7 ms, dw 2.7 against 2.0 ms (extra_dx 3.6, extra_dw 1.9).
 *
 * The fast code adds the same products in another order, so it agrees with the
 * reference to rounding, not bit for bit. */
int FN(conv2d_forward)(T *y, const T *x, const T *w, const T *b, ms_conv_geom geom)
{
    if (ms_conv_fast_paths && geom.SH == 1 && geom.SW == 1)
        return FN(conv2d_forward_stride1)(y, x, w, b, geom);
    return forward_reference(y, x, w, b, geom);
}

/* n rounded up to a whole number of tiles, over n: the share of a GEMM's work done
 * on a dimension of n when the micro-kernel does it `tile` at a time. */
static double padded(int64_t n, int64_t tile)
{
    return (double)((n + tile - 1) / tile * tile) / (double)n;
}

/* The gradients that are not NULL (each is written): dx, then dw (one pass over the
 * images each: doing both per image would keep two image-sized buffers fighting over
 * the L2 cache), then db[o] = sum_{n, p} dy[n, o, p]. */
int FN(conv2d_backward)(T *dx, T *dw, T *db, const T *dy, const T *x, const T *w,
                        ms_conv_geom geom)
{
    const int fast = ms_conv_fast_paths, stride1 = geom.SH == 1 && geom.SW == 1;
    const int64_t Cg = geom.C / geom.G, H = geom.H, W = geom.W, OH = geom.OH, OW = geom.OW;
    int64_t MR, NR;
    FN(gemm_tile)(&MR, &NR);
    /* the fast code's multiply-adds over the reference's (see the table above) */
    const double extra_dx = padded(Cg, MR) * (double)(H * (W + geom.DW * (geom.KW - 1)))
                            / (double)(OH * OW);
    const double extra_dw = padded(geom.KW * Cg, NR) * (double)(OW + geom.KW - 1)
                            / (double)OW;
    int status = 0;
    if (dx != NULL && fast && stride1 && (extra_dx <= 1.4 || fast == 2))
        status = FN(conv2d_backward_data_stride1)(dx, dy, w, geom);
    else if (dx != NULL)
        status = backward_data_reference(dx, dy, w, geom);
    if (status != 0)
        return -1;
    if (dw != NULL && fast && stride1 && geom.DW == 1 && (extra_dw <= 1.25 || fast == 2))
        status = FN(conv2d_backward_weight_stride1)(dw, dy, x, geom);
    else if (dw != NULL && fast && (Cg >= 8 || fast == 2))
        status = FN(conv2d_backward_weight_rows)(dw, dy, x, geom);
    else if (dw != NULL)
        status = backward_weight_reference(dw, dy, x, geom);
    if (status != 0)
        return -1;
    if (db != NULL) {
        /* db[o] = sum over n of the row sums dy[n, o, :] (in double, ms_sum.h); the
         * channels shared by the threads, each summed in the same order */
        const int64_t N = geom.N, O = geom.O, P = geom.OH * geom.OW;
        MS_PARALLEL_FOR_WORK(o, O, N * O * P, {
            double s = 0.0;
            for (int64_t n = 0; n < N; n++)
                s += row_sum(dy + (n * O + o) * P, P);
            db[o] = (T)s;
        });
    }
    return 0;
}
