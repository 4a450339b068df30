/* conv_fast.c -- faster CPU code for the common convolutions.  Typed (f32, f64).
 *
 * conv.c is the reference: im2col + GEMM + col2im, image by image, for every
 * geometry.  The code here computes the same gradients and outputs for the cases
 * it covers, faster; conv.c's "which code runs" (at its end) is the one place that
 * chooses, and tests/test_conv.py checks every function here against the reference
 * (to rounding: the products are added in another order).
 *
 * Why it wins.  The reference spends its time moving data, not multiplying:
 * im2col writes KH*KW copies of every image (9 for a 3x3 kernel), the GEMM packs
 * them again, and col2im scatters them back.  With stride 1 the copies can be
 * skipped: the rows of col are runs of a padded image at shifted addresses, and
 * gemm_brows (matmul.c) reads B's rows from such addresses.
 *
 *   conv2d_forward_stride1          implicit GEMM: no col at all
 *   conv2d_backward_data_stride1    dx is a stride-1 convolution of dy with the flipped
 *                                   kernel: the same implicit GEMM, no col2im
 *   conv2d_backward_weight_stride1  dw by one gemm_brows per kernel row over the image
 *                                   with its channels last: no col, no transposed read
 *   conv2d_backward_weight_rows     dw for any geometry: col^T built directly (one
 *                                   image with its channels last), so that the GEMM
 *                                   reads both operands row by row
 *
 * By how much.  `python bench/bench_conv.py --clock cpu --repeat 30 [--reference]
 * [--stride 2]`: float32, x (32, 32, 28, 28), w (32, 32, 3, 3), padding 1, one
 * thread, the best of 30 calls in CPU time, this code against conv.c's (--reference),
 * on a 2-core machine shared with other jobs (2026-12-06; the ratios held over
 * three runs, the times move by 10-20%):
 *
 *   stride 1     fast     reference
 *   y            5.3 ms   6.7 ms     1.25x  (no col written and read back)
 *   dx           5.3 ms   7.7 ms     1.45x  (no col2im either)
 *   dw + db      6.5 ms   7.8 ms     1.2x   (stride1: no col, no transposed read)
 *   backward    11.8 ms  15.6 ms     1.3x
 *
 *   With stride 2 only dw has fast code (_rows): 3.0 against 4.1 ms in that run,
 *   but 0.8x to 1.2x in three others: no gain that this machine can show.
 *
 * Sizes, as in conv.c: x (N, C, H, W); w (O, C/G, KH, KW); b (O,); y, dy
 * (N, O, OH, OW); Og = O/G, Cg = C/G, K = Cg*KH*KW, P = OH*OW; the geometry in
 * ms_conv_geom (minisinga.h).
 */
#include <stdlib.h>
#include <string.h>
#include "minisinga.h"
#include "ms_gemm.h"
#include "ms_parallel.h"
#include "conv_fast.h"

/* Stride 1: implicit GEMM, no col matrix at all.
 *
 * Pad the image once: xp[c, hp, wp] = x[c, hp - PT, wp - PL] (0 outside x), with
 * Hp = OH + DH*(KH-1) rows and Wp = OW + DW*(KW-1) columns.  Then row (c, i, j) of
 * col, as a function of the output pixel, is xp[c, oh + i*DH, ow + j*DW].  Let the
 * output rows be Wp wide instead of OW (the Wp - OW extra columns are computed and
 * dropped): then that row of col is simply the run of OH*Wp values of xp starting at
 * xp[c, i*DH, j*DW] -- an address, no copy.  So
 *     yp (Og, OH*Wp) = w[g] (Og, K) @ B,   B[(c, i, j), :] = that run,
 * is one gemm_brows (matmul.c), which reads B's rows straight from xp, and
 *     y[n, o, oh, ow] = yp[o, oh*Wp + ow] + b[o]   for ow < OW.
 * Compared with im2col + gemm this skips writing col (KH*KW copies of the image) and
 * reading it back, for (Wp - OW) / OW more multiply-adds (7% for 28 columns, 3x3).
 * The runs of the last rows reach (KW-1)*DW values past the last plane, into the
 * dropped columns, so xp has that many zeros more at its end. */
static void pad_image(T *xp, const T *x, int64_t C, int64_t H, int64_t W, int64_t Hp,
                      int64_t Wp, int64_t PT, int64_t PL, int64_t slack)
{
    /* the columns wp in [lo, hi) come from x (w = wp - PL in [0, W)); the rest is 0 */
    const int64_t lo = PL < 0 ? 0 : (PL < Wp ? PL : Wp);
    const int64_t hi = W + PL < lo ? lo : (W + PL < Wp ? W + PL : Wp);
    for (int64_t c = 0; c < C; c++)
        for (int64_t hp = 0; hp < Hp; hp++) {
            T *dst = xp + (c * Hp + hp) * Wp;
            const int64_t h = hp - PT;
            if (h < 0 || h >= H) {
                for (int64_t wp = 0; wp < Wp; wp++)
                    dst[wp] = (T)0;
                continue;
            }
            const T *row = x + (c * H + h) * W;
            for (int64_t wp = 0; wp < lo; wp++)
                dst[wp] = (T)0;
            for (int64_t wp = lo; wp < hi; wp++)
                dst[wp] = row[wp - PL];
            for (int64_t wp = hi; wp < Wp; wp++)
                dst[wp] = (T)0;
        }
    for (int64_t k = 0; k < slack; k++)
        xp[C * Hp * Wp + k] = (T)0;
}

int FN(conv2d_forward_stride1)(T *y, const T *x, const T *w, const T *b, ms_conv_geom geom)
{
    const int64_t N = geom.N, C = geom.C, H = geom.H, W = geom.W, O = geom.O, G = geom.G;
    const int64_t KH = geom.KH, KW = geom.KW, PT = geom.PT, PL = geom.PL, DH = geom.DH;
    const int64_t DW = geom.DW, OH = geom.OH, OW = geom.OW;
    const int64_t P = OH * OW, Og = O / G, Cg = C / G, K = Cg * KH * KW;
    const int64_t Hp = OH + DH * (KH - 1), Wp = OW + DW * (KW - 1), slack = DW * (KW - 1);
    int failed = 0;
    ms_team team = ms_team_start();
#pragma omp parallel if (N > 1 && N * O * P * K > MS_CONV_PAR_MIN)
    {
        T *xp = malloc((size_t)(C * Hp * Wp + slack + 1) * sizeof(T));
        T *yp = malloc((size_t)(Og * OH * Wp + 1) * sizeof(T));
        const T **brows = malloc((size_t)(K + 1) * sizeof(T *));
#pragma omp for schedule(dynamic, 1) nowait
        for (int64_t n = 0; n < N; n++) {
            if (xp == NULL || yp == NULL || brows == NULL) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            pad_image(xp, x + n * C * H * W, C, H, W, Hp, Wp, PT, PL, slack);
            for (int64_t g = 0; g < G; g++) {
                for (int64_t c = 0; c < Cg; c++)
                    for (int64_t i = 0; i < KH; i++)
                        for (int64_t j = 0; j < KW; j++)
                            brows[(c * KH + i) * KW + j] =
                                xp + ((g * Cg + c) * Hp + i * DH) * Wp + j * DW;
                FN(gemm_brows)(yp, w + g * Og * K, brows, Og, OH * Wp, K, (T)0);
                for (int64_t o = 0; o < Og; o++) {
                    const T bias = b != NULL ? b[g * Og + o] : (T)0;
                    for (int64_t oh = 0; oh < OH; oh++) {
                        T *dst = y + ((n * O + g * Og + o) * OH + oh) * OW;
                        const T *src = yp + (o * OH + oh) * Wp;
                        for (int64_t ow = 0; ow < OW; ow++)
                            dst[ow] = src[ow] + bias;
                    }
                }
            }
        }
        ms_team_member_done(&team);
        free(xp);
        free(yp);
        free(brows);
    }
    ms_team_note(&team, N);
    return failed ? -1 : 0;
}

/* Stride 1: dx is itself a stride-1 convolution, of dy, so it takes the implicit GEMM
 * of the forward pass (conv2d_forward_stride1) and needs no col2im:
 *   dx[n, c, h, w] = sum_{o, i, j} w[o, c, i, j] dy[n, o, h + PT - i*DH, w + PL - j*DW]
 * With i' = KH-1-i, j' = KW-1-j that is a convolution of dy padded by
 * QT = DH*(KH-1) - PT rows on top and QL = DW*(KW-1) - PL columns on the left (a
 * negative padding crops), with the kernel wr[c, o, i', j'] = w[o, c, KH-1-i', KW-1-j']:
 * flipped, with input and output channels swapped (per group). */
int FN(conv2d_backward_data_stride1)(T *dx, const T *dy, const T *w, ms_conv_geom geom)
{
    const int64_t C = geom.C, O = geom.O, G = geom.G, KH = geom.KH, KW = geom.KW;
    const int64_t DH = geom.DH, DW = geom.DW;
    const int64_t Og = O / G, Cg = C / G, T2 = KH * KW;
    T *wr = malloc((size_t)(C * Og * T2 + 1) * sizeof(T));
    if (wr == NULL)
        return -1;
    for (int64_t g = 0; g < G; g++)
        for (int64_t c = 0; c < Cg; c++)
            for (int64_t o = 0; o < Og; o++)
                for (int64_t t = 0; t < T2; t++)
                    wr[((g * Cg + c) * Og + o) * T2 + t] =
                        w[((g * Og + o) * Cg + c) * T2 + (T2 - 1 - t)];
    /* the convolution dy (N, O, OH, OW) -> dx (N, C, H, W) */
    const ms_conv_geom back = {
        .N = geom.N, .C = O, .H = geom.OH, .W = geom.OW, .O = C, .G = G, .KH = KH, .KW = KW,
        .SH = 1, .SW = 1, .PT = DH * (KH - 1) - geom.PT, .PL = DW * (KW - 1) - geom.PL,
        .DH = DH, .DW = DW, .OH = geom.H, .OW = geom.W};
    int status = FN(conv2d_forward_stride1)(dx, dy, wr, NULL, back);
    free(wr);
    return status;
}

/* The receptive fields of one image and group as the ROWS of a matrix, channels last:
 *   rows (P, K): rows[p, (i*KW + j)*Cg + c] = x[c, ih, iw]   (0 in the padding)
 * for output pixel p = (oh, ow) and kernel tap (i, j).  This is im2col(x)^T with its
 * columns reordered (c moves from first to last), so that dw can be one GEMM whose two
 * operands are both read row by row (see conv2d_backward_weight_rows).  It is built
 * from xt, the image with its channels last (xt[h*W + w, c] = x[c, h, w]), so that
 * each tap of each pixel is a contiguous run of Cg values: one transposition of the
 * image (H*W*Cg values) instead of one per tap.  (geom.C is not read: the image
 * has the Cg channels of one group.) */
static void im2row_channels_last(T *rows, T *xt, const T *x, int64_t Cg, ms_conv_geom geom)
{
    const int64_t H = geom.H, W = geom.W, KH = geom.KH, KW = geom.KW, SH = geom.SH;
    const int64_t SW = geom.SW, PT = geom.PT, PL = geom.PL, DH = geom.DH, DW = geom.DW;
    const int64_t OH = geom.OH, OW = geom.OW, K = KH * KW * Cg;
    /* the transposition, in blocks of 64 pixels, so that the 64 rows of xt being
     * written stay in the L1 cache while every channel visits them */
    for (int64_t hw0 = 0; hw0 < H * W; hw0 += 64) {
        const int64_t hw1 = hw0 + 64 < H * W ? hw0 + 64 : H * W;
        for (int64_t c = 0; c < Cg; c++)
            for (int64_t hw = hw0; hw < hw1; hw++)
                xt[hw * Cg + c] = x[c * H * W + hw];
    }
    for (int64_t oh = 0; oh < OH; oh++) {
        for (int64_t ow = 0; ow < OW; ow++) {
            T *row = rows + (oh * OW + ow) * K;
            const int64_t iw0 = ow * SW - PL; /* input column of tap j = 0 */
            for (int64_t i = 0; i < KH; i++) {
                const int64_t ih = oh * SH - PT + i * DH;
                if (DW == 1 && ih >= 0 && ih < H && iw0 >= 0 && iw0 + KW <= W) {
                    /* the common case: all KW taps inside the row and next to each
                     * other, so in xt they are one run of KW*Cg values */
                    memcpy(row + i * KW * Cg, xt + (ih * W + iw0) * Cg,
                           (size_t)(KW * Cg) * sizeof(T));
                    continue;
                }
                for (int64_t j = 0; j < KW; j++) {
                    const int64_t iw = iw0 + j * DW;
                    T *dst = row + (i * KW + j) * Cg;
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) {
                        for (int64_t c = 0; c < Cg; c++)
                            dst[c] = 0;
                    } else {
                        const T *src = xt + (ih * W + iw) * Cg;
                        for (int64_t c = 0; c < Cg; c++)
                            dst[c] = src[c];
                    }
                }
            }
        }
    }
}

/* part[0][i] = part[0][i] + part[1][i] + ... + part[chunks-1][i] (each part `size`
 * values long), added in that order: the sum of dw's chunks.  Chunk by chunk, so that
 * the inner loop runs along memory. */
static void add_chunks(T *part, int64_t chunks, int64_t size)
{
    for (int64_t ch = 1; ch < chunks; ch++)
        for (int64_t i = 0; i < size; i++)
            part[i] += part[ch * size + i];
}

/* dw[g] (Og, K) = sum_n dy[n, g] (Og, P) @ col_n[g]^T (P, K),   col_n = im2col(x[n]).
 *
 * col_n^T is built directly (im2row_channels_last): with it, both GEMM operands are
 * plain row-major matrices.  GEMM on col_n^T as a transposed operand (the reference)
 * has to gather every value of it across rows while packing (a strided read per
 * value); reading rows is a straight copy.  The price is that dw comes out with its
 * columns in (i, j, c) order, which one pass at the end puts back to (c, i, j).
 *
 * The sum over n is cut into MS_CONV_CHUNKS fixed chunks of images: each chunk sums its
 * images in order into its own buffer, then the chunk sums are added in order.  The
 * chunks do not depend on the number of threads, so neither do the bits. */
int FN(conv2d_backward_weight_rows)(T *dw, const T *dy, const T *x, ms_conv_geom geom)
{
    const int64_t N = geom.N, C = geom.C, H = geom.H, W = geom.W, O = geom.O, G = geom.G;
    const int64_t KH = geom.KH, KW = geom.KW, P = geom.OH * geom.OW;
    const int64_t Og = O / G, Cg = C / G, K = Cg * KH * KW, wsize = O * K;
    const int64_t chunks = N < MS_CONV_CHUNKS ? N : MS_CONV_CHUNKS;
    int failed = 0;
    /* one partial dw per chunk, columns in (i, j, c) order (each chunk's first image
     * writes it: no zeroing needed) */
    T *part = malloc((size_t)(chunks * wsize + 1) * sizeof(T));
    if (part == NULL)
        return -1;
    ms_team team = ms_team_start();
#pragma omp parallel if (chunks > 1 && N * O * P * K > MS_CONV_PAR_MIN)
    {
        T *rows = malloc((size_t)(K * P + 1) * sizeof(T));
        T *xt = malloc((size_t)(Cg * H * W + 1) * sizeof(T));
#pragma omp for schedule(dynamic, 1) nowait
        for (int64_t c = 0; c < chunks; c++) {
            if (rows == NULL || xt == NULL) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            for (int64_t n = c * N / chunks; n < (c + 1) * N / chunks; n++) {
                T beta = n == c * N / chunks ? (T)0 : (T)1; /* first image: write */
                for (int64_t g = 0; g < G; g++) {
                    im2row_channels_last(rows, xt, x + (n * C + g * Cg) * H * W, Cg, geom);
                    FN(gemm)(part + c * wsize + g * Og * K, dy + (n * O + g * Og) * P, rows,
                             Og, K, P, 0, 0, (T)1, beta);
                }
            }
        }
        ms_team_member_done(&team);
        free(rows);
        free(xt);
    }
    ms_team_note(&team, chunks);
    /* dw[o, c, i, j] = part[0][o, i, j, c] + part[1][o, i, j, c] + ... in chunk order:
     * the chunks added into part[0] first (contiguous runs), then put in order */
    add_chunks(part, chunks, wsize);
    for (int64_t o = 0; o < O; o++)
        for (int64_t c = 0; c < Cg; c++)
            for (int64_t t = 0; t < KH * KW; t++)
                dw[o * K + c * KH * KW + t] = part[o * K + t * Cg + c];
    free(part);
    return failed ? -1 : 0;
}

/* Stride 1 and no column dilation: dw without im2row.  Pad the image with its
 * channels last, xtp[(hp*Wp + wp)*Cg + c] = x[c, hp - PT, wp - PL] (0 outside x),
 * and let dy's rows be Wp wide, dyp[o, oh*Wp + ow] (0 for ow >= OW), as in
 * conv2d_forward_stride1.  For kernel row i, the KW taps of output pixel
 * p = oh*Wp + ow are the KW*Cg values at xtp + (p + i*DH*Wp)*Cg: one run.  So
 *     dw[:, (c, i, :)] in (j, c) order (Og, KW*Cg) += dyp (Og, OH*Wp) @ B_i,
 *     B_i[p, :] = that run,
 * is one product per kernel row, and the micro-kernel reads B_i's rows in place.
 * All KH of them share dyp, and B_i's rows are B_0's moved on by gap = DH*Wp*Cg
 * values: so they are one gemm_brows_segments, (Og, KH*KW*Cg) in (i, j, c) order,
 * which packs dyp once for all kernel rows (three GEMMs packed it three times:
 * 10% of the time of dw for the benchmark's 32 channels of 28x28).
 * The rows of the dropped columns (ow >= OW) point at zeros, not into the image:
 * their dyp is 0, and 0 * inf would otherwise put a NaN into dw (the zeros reach
 * gap * (KH - 1) values further, for the later kernel rows).  The images are
 * summed in MS_CONV_CHUNKS fixed chunks, as in conv2d_backward_weight_rows. */
int FN(conv2d_backward_weight_stride1)(T *dw, const T *dy, const T *x, ms_conv_geom geom)
{
    const int64_t N = geom.N, C = geom.C, H = geom.H, W = geom.W, O = geom.O, G = geom.G;
    const int64_t KH = geom.KH, KW = geom.KW, PT = geom.PT, PL = geom.PL, DH = geom.DH;
    const int64_t OH = geom.OH, OW = geom.OW;
    const int64_t Og = O / G, Cg = C / G, K = Cg * KH * KW, wsize = O * K;
    const int64_t Hp = OH + DH * (KH - 1), Wp = OW + KW - 1, L = OH * Wp, R = KW * Cg;
    const int64_t gap = DH * Wp * Cg; /* from kernel row i's run of taps to row i + 1's */
    const int64_t chunks = N < MS_CONV_CHUNKS ? N : MS_CONV_CHUNKS;
    int failed = 0;
    /* one partial dw per chunk, laid out (g, o, i, j, c): a GEMM's output is one block
     * (each chunk's first image writes it: no zeroing needed) */
    T *part = malloc((size_t)(chunks * wsize + 1) * sizeof(T));
    if (part == NULL)
        return -1;
    ms_team team = ms_team_start();
#pragma omp parallel if (chunks > 1 && N * O * OH * OW * K > MS_CONV_PAR_MIN)
    {
        T *xtp = malloc((size_t)(Hp * Wp * Cg + 1) * sizeof(T));
        T *dyp = malloc((size_t)(Og * L + 1) * sizeof(T));
        T *zeros = calloc((size_t)(gap * (KH - 1) + R + 1), sizeof(T));
        const T **brows = malloc((size_t)(L + 1) * sizeof(T *));
#pragma omp for schedule(dynamic, 1) nowait
        for (int64_t ch = 0; ch < chunks; ch++) {
            if (xtp == NULL || dyp == NULL || zeros == NULL || brows == NULL) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            for (int64_t n = ch * N / chunks; n < (ch + 1) * N / chunks; n++) {
                const T beta = n == ch * N / chunks ? (T)0 : (T)1; /* first image: write */
                for (int64_t g = 0; g < G; g++) {
                    const T *xg = x + (n * C + g * Cg) * H * W;
                    const T *dyg = dy + (n * O + g * Og) * OH * OW;
                    for (int64_t hp = 0; hp < Hp; hp++) /* xtp, by padded pixel */
                        for (int64_t wp = 0; wp < Wp; wp++) {
                            const int64_t h = hp - PT, w = wp - PL;
                            const int inside = h >= 0 && h < H && w >= 0 && w < W;
                            T *dst = xtp + (hp * Wp + wp) * Cg;
                            for (int64_t c = 0; c < Cg; c++)
                                dst[c] = inside ? xg[(c * H + h) * W + w] : (T)0;
                        }
                    for (int64_t o = 0; o < Og; o++)
                        for (int64_t oh = 0; oh < OH; oh++)
                            for (int64_t ow = 0; ow < Wp; ow++)
                                dyp[(o * OH + oh) * Wp + ow] =
                                    ow < OW ? dyg[(o * OH + oh) * OW + ow] : (T)0;
                    for (int64_t oh = 0; oh < OH; oh++) /* B_0's rows; B_i's are gap on */
                        for (int64_t ow = 0; ow < Wp; ow++) {
                            const int64_t q = oh * Wp + ow;
                            brows[q] = ow < OW ? xtp + q * Cg : zeros;
                        }
                    if (FN(gemm_brows_segments)(part + ch * wsize + g * Og * K, dyp, brows, Og,
                                                K, L, beta, R, gap) != 0) {
#pragma omp atomic write
                        failed = 1;
                    }
                }
            }
        }
        ms_team_member_done(&team);
        free(xtp);
        free(dyp);
        free(zeros);
        free(brows);
    }
    ms_team_note(&team, chunks);
    /* dw[g*Og + o, c, i, j] = the chunks' part[g, o, i, j, c], added in chunk order */
    add_chunks(part, chunks, wsize);
    for (int64_t go = 0; go < O; go++)
        for (int64_t c = 0; c < Cg; c++)
            for (int64_t i = 0; i < KH; i++)
                for (int64_t j = 0; j < KW; j++)
                    dw[((go * Cg + c) * KH + i) * KW + j] = part[(go * KH + i) * R + j * Cg + c];
    free(part);
    return failed ? -1 : 0;
}
