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

/* The part of a window that lies inside x: rows [*hs, *he), columns [*ws, *we). */
static void window(int64_t *hs, int64_t *he, int64_t *ws, int64_t *we, int64_t oh,
                   int64_t ow, int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t SH,
                   int64_t SW, int64_t PT, int64_t PL)
{
    int64_t h0 = oh * SH - PT, w0 = ow * SW - PL;
    *hs = h0 < 0 ? 0 : h0;
    *he = h0 + KH < H ? h0 + KH : H;
    *ws = w0 < 0 ? 0 : w0;
    *we = w0 + KW < W ? w0 + KW : W;
}

/* --8<-- [start:max_pool2d_forward] */
/* y[p, oh, ow] = max over the window of x[p]
 * argmax[p, oh, ow] = h*W + w of that maximum within plane p.
 * Ties: the FIRST maximum in row-major window order wins (a later cell must
 * be strictly greater to replace it).  NaN propagates: the first NaN wins. */
void FN(max_pool2d_forward)(T *y, int32_t *argmax, const T *x, int64_t NC, int64_t H,
                            int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                            int64_t SH, int64_t SW, int64_t PT, int64_t PL)
{
#pragma omp parallel for if (NC * OH * OW * KH * KW > MS_PAR_MIN)
    for (int64_t p = 0; p < NC; p++) {
        const T *plane = x + p * H * W;
        for (int64_t oh = 0; oh < OH; oh++) {
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t hs, he, ws, we;
                window(&hs, &he, &ws, &we, oh, ow, H, W, KH, KW, SH, SW, PT, PL);
                int64_t best_i = hs * W + ws;
                T best = plane[best_i];
                for (int64_t h = hs; h < he; h++) {
                    for (int64_t w = ws; w < we; w++) {
                        T v = plane[h * W + w];
                        if (v > best || (v != v && best == best)) {
                            best = v;
                            best_i = h * W + w;
                        }
                    }
                }
                y[(p * OH + oh) * OW + ow] = best;
                argmax[(p * OH + oh) * OW + ow] = (int32_t)best_i;
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

/* --8<-- [start:avg_pool2d_forward] */
/* y[p, oh, ow] = (1 / count) * sum over the window of x[p],
 * count = the number of window cells inside x (padding excluded, as SINGA). */
void FN(avg_pool2d_forward)(T *y, const T *x, int64_t NC, int64_t H, int64_t W,
                            int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t SH,
                            int64_t SW, int64_t PT, int64_t PL)
{
#pragma omp parallel for if (NC * OH * OW * KH * KW > MS_PAR_MIN)
    for (int64_t p = 0; p < NC; p++) {
        const T *plane = x + p * H * W;
        for (int64_t oh = 0; oh < OH; oh++) {
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t hs, he, ws, we;
                window(&hs, &he, &ws, &we, oh, ow, H, W, KH, KW, SH, SW, PT, PL);
                double acc = 0.0;
                for (int64_t h = hs; h < he; h++)
                    for (int64_t w = ws; w < we; w++)
                        acc += (double)plane[h * W + w];
                y[(p * OH + oh) * OW + ow] = (T)(acc / (double)((he - hs) * (we - ws)));
            }
        }
    }
}
/* --8<-- [end:avg_pool2d_forward] */

/* --8<-- [start:avg_pool2d_backward] */
/* dx[p, h, w] = sum over the windows (oh, ow) containing (h, w) of dy[p, oh, ow] / count
 * (dx zeroed first: it is written) */
void FN(avg_pool2d_backward)(T *dx, const T *dy, int64_t NC, int64_t H, int64_t W,
                             int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t SH,
                             int64_t SW, int64_t PT, int64_t PL)
{
#pragma omp parallel for if (NC * OH * OW * KH * KW > MS_PAR_MIN)
    for (int64_t p = 0; p < NC; p++) {
        T *plane = dx + p * H * W;
        memset(plane, 0, (size_t)(H * W) * sizeof(T));
        for (int64_t oh = 0; oh < OH; oh++) {
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t hs, he, ws, we;
                window(&hs, &he, &ws, &we, oh, ow, H, W, KH, KW, SH, SW, PT, PL);
                T g = dy[(p * OH + oh) * OW + ow] / (T)((he - hs) * (we - ws));
                for (int64_t h = hs; h < he; h++)
                    for (int64_t w = ws; w < we; w++)
                        plane[h * W + w] += g;
            }
        }
    }
}
/* --8<-- [end:avg_pool2d_backward] */
