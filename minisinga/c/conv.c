/* conv.c -- the two data movers behind convolution: im2col and col2im.  Typed (f32, f64).
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
#include <string.h>
#include "minisinga.h"

#define MS_PAR_MIN 32768

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

/* --8<-- [start:im2col] */
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
/* --8<-- [end:im2col] */

/* --8<-- [start:col2im] */
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
/* --8<-- [end:col2im] */
