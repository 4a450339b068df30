/* conv.c -- convolution lowered onto GEMM: im2col, col2im, and conv2d_forward /
 * conv2d_backward, which run them and the GEMMs image by image.  Typed (f32, f64).
 *
 * A 2-D convolution (cross-correlation, as in every deep-learning library) is
 * lowered onto the one fast kernel we have, GEMM (matmul.c):
 *
 *   1. im2col copies every receptive field of x into one column of a matrix
 *      col (C*KH*KW, N*OH*OW);
 *   2. y' (O, N*OH*OW) = W (O, C*KH*KW) @ col is then one GEMM (per group);
 *   3. backward: dW = dy' @ col^T and dcol = W^T @ dy' are GEMMs too, and
 *      col2im (the adjoint of im2col) adds the columns of dcol back into dx.
 *
 * Why: all the arithmetic runs in GEMM, so every speed-up of GEMM speeds up
 * convolution, and groups, dilation, stride and asymmetric padding cost
 * nothing extra (they only change which input element a column entry copies).
 * The price is memory: col holds KH*KW copies of (almost) every input element,
 * C*KH*KW * N*OH*OW values; for a 3x3 kernel that is ~9 times the input.
 *
 * Geometry (Python computes and checks it):
 *   x (N, C, H, W); output (N, O, OH, OW);
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
 * Row r = (c, i, j) matches W (O, C, KH, KW) viewed as (O, C*KH*KW), so with
 * groups the rows of group g are the contiguous block c in [g*C/G, (g+1)*C/G). */
void FN(im2col)(T *col, const T *x, int64_t N, int64_t C, int64_t H, int64_t W,
                int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PT, int64_t PL,
                int64_t DH, int64_t DW, int64_t OH, int64_t OW)
{
    const int64_t P = OH * OW, rows = C * KH * KW;
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
void FN(col2im)(T *dx, const T *dcol, int64_t N, int64_t C, int64_t H, int64_t W,
                int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PT, int64_t PL,
                int64_t DH, int64_t DW, int64_t OH, int64_t OW)
{
    const int64_t P = OH * OW;
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
                            T *d = plane + base + lo;
                            for (int64_t ow = 0; ow < hi - lo; ow++)
                                d[ow] += s[lo + ow];
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

/* ---------------------------------------------------------- image by image
 *
 * conv2d_forward and conv2d_backward do the whole convolution in C, one image at a
 * time: im2col of ONE image (C*KH*KW x OH*OW values: 0.9 MiB for C = 32 channels of
 * 28x28 and a 3x3 kernel) still sits in the L2 cache when the GEMM reads it, instead
 * of one col matrix for the whole batch (29 MiB for a batch of 32) that goes out to
 * memory and back.  The images are shared out among the threads, each with its own
 * col buffer, so the threads never wait for each other; the GEMM inside runs on the
 * calling thread.  Backward recomputes im2col instead of keeping col from forward:
 * that saves a buffer 9 times the size of x, for a copy that costs little in cache.
 *
 * Sizes: x (N, C, H, W); w (O, C/G, KH, KW); b (O,); y, dy (N, O, OH, OW);
 * K = C/G*KH*KW rows of col per group, Og = O/G, P = OH*OW.
 * Both return 0, or -1 when a col buffer cannot be allocated. */

#define MS_CONV_PAR_MIN 1048576 /* multiply-adds below which one thread does it all */
#define MS_CONV_CHUNKS 8        /* dw sums the images in this many fixed chunks */

/* Stride 1, the common case: implicit GEMM, no col matrix at all.
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

static int forward_stride1(T *y, const T *x, const T *w, const T *b, int64_t N, int64_t C,
                           int64_t H, int64_t W, int64_t O, int64_t G, int64_t KH,
                           int64_t KW, int64_t PT, int64_t PL, int64_t DH, int64_t DW,
                           int64_t OH, int64_t OW)
{
    const int64_t P = OH * OW, Og = O / G, Cg = C / G, K = Cg * KH * KW;
    const int64_t Hp = OH + DH * (KH - 1), Wp = OW + DW * (KW - 1), slack = DW * (KW - 1);
    int failed = 0;
#pragma omp parallel if (N > 1 && N * O * P * K > MS_CONV_PAR_MIN)
    {
        T *xp = malloc((size_t)(C * Hp * Wp + slack + 1) * sizeof(T));
        T *yp = malloc((size_t)(Og * OH * Wp + 1) * sizeof(T));
        const T **brows = malloc((size_t)(K + 1) * sizeof(T *));
#pragma omp for schedule(dynamic, 1)
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
        free(xp);
        free(yp);
        free(brows);
    }
    return failed ? -1 : 0;
}

/* y[n, g*Og + o, :] (P) = sum_k w[g*Og + o, k] * col_n[g*K + k, :] + b[g*Og + o]
 * with col_n = im2col(x[n]) (C*KH*KW, P): one GEMM per image and group.
 * Stride 1 takes forward_stride1, which does the same GEMM without col. */
int FN(conv2d_forward)(T *y, const T *x, const T *w, const T *b, int64_t N, int64_t C,
                       int64_t H, int64_t W, int64_t O, int64_t G, int64_t KH, int64_t KW,
                       int64_t SH, int64_t SW, int64_t PT, int64_t PL, int64_t DH,
                       int64_t DW, int64_t OH, int64_t OW)
{
    if (SH == 1 && SW == 1)
        return forward_stride1(y, x, w, b, N, C, H, W, O, G, KH, KW, PT, PL, DH, DW, OH,
                               OW);
    const int64_t P = OH * OW, Og = O / G, K = C / G * KH * KW;
    int failed = 0;
#pragma omp parallel if (N > 1 && N * O * P * K > MS_CONV_PAR_MIN)
    {
        T *col = malloc((size_t)(G * K * P + 1) * sizeof(T));
#pragma omp for schedule(dynamic, 1)
        for (int64_t n = 0; n < N; n++) {
            if (col == NULL) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            T *yn = y + n * O * P;
            FN(im2col)(col, x + n * C * H * W, 1, C, H, W, KH, KW, SH, SW, PT, PL, DH, DW,
                       OH, OW);
            for (int64_t g = 0; g < G; g++)
                FN(gemm)(yn + g * Og * P, w + g * Og * K, col + g * K * P, Og, P, K, 0, 0,
                         (T)1, (T)0);
            if (b != NULL)
                for (int64_t o = 0; o < O; o++)
                    for (int64_t p = 0; p < P; p++)
                        yn[o * P + p] += b[o];
        }
        free(col);
    }
    return failed ? -1 : 0;
}

/* dx[n] = col2im(dcol_n),  dcol_n[g*K:(g+1)*K] (K, P) = w[g]^T (K, Og) @ dy[n, g] (Og, P).
 * Image by image, each thread with its own dcol buffer (written by the GEMM, then read
 * by col2im while it is still in the L2 cache). */
static int backward_data(T *dx, const T *dy, const T *w, int64_t N, int64_t C, int64_t H,
                         int64_t W, int64_t O, int64_t G, int64_t KH, int64_t KW, int64_t SH,
                         int64_t SW, int64_t PT, int64_t PL, int64_t DH, int64_t DW,
                         int64_t OH, int64_t OW)
{
    const int64_t P = OH * OW, Og = O / G, K = C / G * KH * KW;
    int failed = 0;
#pragma omp parallel if (N > 1 && N * O * P * K > MS_CONV_PAR_MIN)
    {
        T *dcol = malloc((size_t)(G * K * P + 1) * sizeof(T));
#pragma omp for schedule(dynamic, 1)
        for (int64_t n = 0; n < N; n++) {
            if (dcol == NULL) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            for (int64_t g = 0; g < G; g++)
                FN(gemm)(dcol + g * K * P, w + g * Og * K, dy + n * O * P + g * Og * P, K,
                         P, Og, 1, 0, (T)1, (T)0);
            FN(col2im)(dx + n * C * H * W, dcol, 1, C, H, W, KH, KW, SH, SW, PT, PL, DH, DW,
                       OH, OW);
        }
        free(dcol);
    }
    return failed ? -1 : 0;
}

/* Stride 1: dx is itself a stride-1 convolution, of dy, so it takes the implicit GEMM
 * of the forward pass (forward_stride1) and needs no col2im:
 *   dx[n, c, h, w] = sum_{o, i, j} w[o, c, i, j] dy[n, o, h + PT - i*DH, w + PL - j*DW]
 * With i' = KH-1-i, j' = KW-1-j that is a convolution of dy padded by
 * QT = DH*(KH-1) - PT rows on top and QL = DW*(KW-1) - PL columns on the left (a
 * negative padding crops), with the kernel wr[c, o, i', j'] = w[o, c, KH-1-i', KW-1-j']:
 * flipped, with input and output channels swapped (per group). */
static int backward_data_stride1(T *dx, const T *dy, const T *w, int64_t N, int64_t C,
                                 int64_t H, int64_t W, int64_t O, int64_t G, int64_t KH,
                                 int64_t KW, int64_t PT, int64_t PL, int64_t DH, int64_t DW,
                                 int64_t OH, int64_t OW)
{
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
    int status = forward_stride1(dx, dy, wr, NULL, N, O, OH, OW, C, G, KH, KW,
                                 DH * (KH - 1) - PT, DW * (KW - 1) - PL, DH, DW, H, W);
    free(wr);
    return status;
}

/* The receptive fields of one image and group as the ROWS of a matrix, channels last:
 *   rows (P, K): rows[p, (i*KW + j)*Cg + c] = x[c, ih, iw]   (0 in the padding)
 * for output pixel p = (oh, ow) and kernel tap (i, j).  This is im2col(x)^T with its
 * columns reordered (c moves from first to last), so that dw can be one GEMM whose two
 * operands are both read row by row (see backward_weight).  It is built from xt, the
 * image with its channels last (xt[h*W + w, c] = x[c, h, w]), so that each tap of each
 * pixel is a contiguous run of Cg values: one transposition of the image (H*W*Cg values)
 * instead of one per tap. */
static void im2row_channels_last(T *rows, T *xt, const T *x, int64_t Cg, int64_t H,
                                 int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                                 int64_t PT, int64_t PL, int64_t DH, int64_t DW, int64_t OH,
                                 int64_t OW)
{
    const int64_t K = KH * KW * Cg;
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

/* dw[g] (Og, K) = sum_n dy[n, g] (Og, P) @ col_n[g]^T (P, K),   col_n = im2col(x[n]).
 *
 * col_n^T is built directly (im2row_channels_last): with it, both GEMM operands are
 * plain row-major matrices.  GEMM on col_n^T as a transposed operand would have to
 * gather every value of it across rows while packing (a strided read per value);
 * reading rows is a straight copy.  The price is that dw comes out with its columns in
 * (i, j, c) order, which one pass at the end puts back to (c, i, j).
 *
 * The sum over n is cut into MS_CONV_CHUNKS fixed chunks of images: each chunk sums its
 * images in order into its own buffer, then the chunk sums are added in order.  The
 * chunks do not depend on the number of threads, so neither do the bits. */
static int backward_weight(T *dw, const T *dy, const T *x, int64_t N, int64_t C, int64_t H,
                           int64_t W, int64_t O, int64_t G, int64_t KH, int64_t KW,
                           int64_t SH, int64_t SW, int64_t PT, int64_t PL, int64_t DH,
                           int64_t DW, int64_t OH, int64_t OW)
{
    const int64_t P = OH * OW, Og = O / G, Cg = C / G, K = Cg * KH * KW, wsize = O * K;
    const int64_t chunks = N < MS_CONV_CHUNKS ? N : MS_CONV_CHUNKS;
    int failed = 0;
    /* one partial dw per chunk, columns in (i, j, c) order */
    T *part = calloc((size_t)(chunks * wsize + 1), sizeof(T));
    if (part == NULL)
        return -1;
#pragma omp parallel if (chunks > 1 && N * O * P * K > MS_CONV_PAR_MIN)
    {
        T *rows = malloc((size_t)(K * P + 1) * sizeof(T));
        T *xt = malloc((size_t)(Cg * H * W + 1) * sizeof(T));
#pragma omp for schedule(dynamic, 1)
        for (int64_t c = 0; c < chunks; c++) {
            if (rows == NULL || xt == NULL) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            for (int64_t n = c * N / chunks; n < (c + 1) * N / chunks; n++) {
                T beta = n == c * N / chunks ? (T)0 : (T)1; /* first image: write */
                for (int64_t g = 0; g < G; g++) {
                    im2row_channels_last(rows, xt, x + (n * C + g * Cg) * H * W, Cg, H, W,
                                         KH, KW, SH, SW, PT, PL, DH, DW, OH, OW);
                    FN(gemm)(part + c * wsize + g * Og * K, dy + (n * O + g * Og) * P, rows,
                             Og, K, P, 0, 0, (T)1, beta);
                }
            }
        }
        free(rows);
        free(xt);
    }
    /* dw[o, c, i, j] = part[0][o, i, j, c] + part[1][o, i, j, c] + ... in chunk order */
    for (int64_t o = 0; o < O; o++)
        for (int64_t c = 0; c < Cg; c++)
            for (int64_t t = 0; t < KH * KW; t++) {
                T s = part[o * K + t * Cg + c];
                for (int64_t ch = 1; ch < chunks; ch++)
                    s += part[ch * wsize + o * K + t * Cg + c];
                dw[o * K + c * KH * KW + t] = s;
            }
    free(part);
    return failed ? -1 : 0;
}

/* Stride 1 and no column dilation: dw without im2row.  Pad the image with its
 * channels last, xtp[(hp*Wp + wp)*Cg + c] = x[c, hp - PT, wp - PL] (0 outside x),
 * and let dy's rows be Wp wide, dyp[o, oh*Wp + ow] (0 for ow >= OW), as in
 * forward_stride1.  For kernel row i, the KW taps of output pixel p = oh*Wp + ow
 * are the KW*Cg values at xtp + (p + i*DH*Wp)*Cg: one run.  So
 *     dw[:, (c, i, :)] in (j, c) order (Og, KW*Cg) += dyp (Og, OH*Wp) @ B_i,
 *     B_i[p, :] = that run,
 * is one gemm_brows per kernel row, and the micro-kernel reads B_i's rows in place.
 * The rows of the dropped columns (ow >= OW) point at zeros, not into the image:
 * their dyp is 0, and 0 * inf would otherwise put a NaN into dw.  The images are
 * summed in MS_CONV_CHUNKS fixed chunks, as in backward_weight. */
static int backward_weight_stride1(T *dw, const T *dy, const T *x, int64_t N, int64_t C,
                                   int64_t H, int64_t W, int64_t O, int64_t G, int64_t KH,
                                   int64_t KW, int64_t PT, int64_t PL, int64_t DH,
                                   int64_t OH, int64_t OW)
{
    const int64_t Og = O / G, Cg = C / G, K = Cg * KH * KW, wsize = O * K;
    const int64_t Hp = OH + DH * (KH - 1), Wp = OW + KW - 1, L = OH * Wp, R = KW * Cg;
    const int64_t chunks = N < MS_CONV_CHUNKS ? N : MS_CONV_CHUNKS;
    int failed = 0;
    /* one partial dw per chunk, laid out (g, i, o, j, c): a GEMM's output is one block */
    T *part = calloc((size_t)(chunks * wsize + 1), sizeof(T));
    if (part == NULL)
        return -1;
#pragma omp parallel if (chunks > 1 && N * O * OH * OW * K > MS_CONV_PAR_MIN)
    {
        T *xtp = malloc((size_t)(Hp * Wp * Cg + 1) * sizeof(T));
        T *dyp = malloc((size_t)(Og * L + 1) * sizeof(T));
        T *zeros = calloc((size_t)(R + 1), sizeof(T));
        const T **brows = malloc((size_t)(L + 1) * sizeof(T *));
#pragma omp for schedule(dynamic, 1)
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
                    for (int64_t i = 0; i < KH; i++) {
                        for (int64_t oh = 0; oh < OH; oh++)
                            for (int64_t ow = 0; ow < Wp; ow++) {
                                const int64_t q = oh * Wp + ow;
                                brows[q] = ow < OW ? xtp + (q + i * DH * Wp) * Cg : zeros;
                            }
                        FN(gemm_brows)(part + ch * wsize + (g * KH + i) * Og * R, dyp, brows,
                                       Og, R, L, beta);
                    }
                }
            }
        }
        free(xtp);
        free(dyp);
        free(zeros);
        free(brows);
    }
    /* dw[g*Og + o, c, i, j] = the chunks' part[g, i, o, j, c], added in chunk order */
    for (int64_t g = 0; g < G; g++)
        for (int64_t o = 0; o < Og; o++)
            for (int64_t c = 0; c < Cg; c++)
                for (int64_t i = 0; i < KH; i++)
                    for (int64_t j = 0; j < KW; j++) {
                        const int64_t at = ((g * KH + i) * Og + o) * R + j * Cg + c;
                        T sum = part[at];
                        for (int64_t ch = 1; ch < chunks; ch++)
                            sum += part[ch * wsize + at];
                        dw[(((g * Og + o) * Cg + c) * KH + i) * KW + j] = sum;
                    }
    free(part);
    return failed ? -1 : 0;
}

/* The gradients that are not NULL (each is written):
 *   dx by backward_data, dw by backward_weight (one pass over the images each: doing
 *   both per image would keep two image-sized buffers, dcol and rows, fighting over
 *   the L2 cache), and
 *   db[o] = sum_{n, p} dy[n, o, p]. */
int FN(conv2d_backward)(T *dx, T *dw, T *db, const T *dy, const T *x, const T *w,
                        int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int64_t G,
                        int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PT,
                        int64_t PL, int64_t DH, int64_t DW, int64_t OH, int64_t OW)
{
    const int64_t P = OH * OW;
    if (dx != NULL && SH == 1 && SW == 1) {
        if (backward_data_stride1(dx, dy, w, N, C, H, W, O, G, KH, KW, PT, PL, DH, DW, OH,
                                  OW) != 0)
            return -1;
    } else if (dx != NULL && backward_data(dx, dy, w, N, C, H, W, O, G, KH, KW, SH, SW, PT,
                                           PL, DH, DW, OH, OW) != 0) {
        return -1;
    }
    if (dw != NULL && SH == 1 && SW == 1 && DW == 1) {
        if (backward_weight_stride1(dw, dy, x, N, C, H, W, O, G, KH, KW, PT, PL, DH, OH,
                                    OW) != 0)
            return -1;
    } else if (dw != NULL && backward_weight(dw, dy, x, N, C, H, W, O, G, KH, KW, SH, SW,
                                             PT, PL, DH, DW, OH, OW) != 0) {
        return -1;
    }
    if (db != NULL) {
        /* db[o] = sum over n of the row sums dy[n, o, :] (in double, ms_sum.h) */
        for (int64_t o = 0; o < O; o++) {
            double s = 0.0;
            for (int64_t n = 0; n < N; n++)
                s += row_sum(dy + (n * O + o) * P, P);
            db[o] = (T)s;
        }
    }
    return 0;
}
