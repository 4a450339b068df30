/* conv.cu -- the CUDA twins of minisinga/c/conv.c: im2col and col2im, the data
 * movers that lower convolution onto GEMM (matmul.cu).  Typed (f32, f64).
 *
 * Geometry (Python computes and checks it), as in conv.c:
 *   x (N, C, H, W);  col (C*KH*KW, N*OH*OW);
 *   input row of kernel tap i at output row oh:  ih = oh*SH - PT + i*DH
 *   input col of kernel tap j at output col ow:  iw = ow*SW - PL + j*DW
 *   taps that fall into the padding read 0.
 *
 * im2col: one thread per element of col (a pure gather).
 * col2im: one thread per element of dx, which adds the (at most KH*KW)
 * entries of dcol that im2col copied from it, in the order (i, j) -- the
 * order in which the C loop adds them, so the sums are the CPU's bit for bit
 * and no two threads ever write the same element (no atomics). */
#include "ms_cuda.h"

/* --8<-- [start:im2col] */
/* x: (N, C, H, W) -> col: (C*KH*KW, N*OH*OW)
 *   col[(c*KH + i)*KW + j, (n*OH + oh)*OW + ow] = x[n, c, ih, iw]   (0 in the padding) */
__global__ void FN(im2col_kernel)(T *col, const T *x, int64_t N, int64_t C, int64_t H,
                                  int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                                  int64_t PT, int64_t PL, int64_t DH, int64_t DW, int64_t OH,
                                  int64_t OW)
{
    const int64_t P = OH * OW;
    MS_FOR_EACH(k, C * KH * KW * N * P) {
        const int64_t ow = k % OW, oh = (k / OW) % OH, n = (k / P) % N, r = k / (N * P);
        const int64_t c = r / (KH * KW), i = (r / KW) % KH, j = r % KW;
        const int64_t ih = oh * SH - PT + i * DH, iw = ow * SW - PL + j * DW;
        col[k] = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? x[((n * C + c) * H + ih) * W + iw]
                                                          : (T)0;
    }
}

extern "C" void FN(im2col)(T *col, const T *x, int64_t N, int64_t C, int64_t H, int64_t W,
                           int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PT,
                           int64_t PL, int64_t DH, int64_t DW, int64_t OH, int64_t OW)
{
    int64_t total = C * KH * KW * N * OH * OW;
    if (total > 0)
        MS_LAUNCH(FN(im2col_kernel), ms_blocks(total), MS_THREADS, col, x, N, C, H, W, KH, KW,
                  SH, SW, PT, PL, DH, DW, OH, OW);
}
/* --8<-- [end:im2col] */

/* --8<-- [start:col2im] */
/* The adjoint of im2col: dcol (C*KH*KW, N*OH*OW) -> dx (N, C, H, W)
 *   dx[n, c, h, w] = sum over the taps (i, j) whose output position (oh, ow)
 *                    reads (h, w) of dcol[(c, i, j), (n, oh, ow)]
 * Tap i reads row h at oh = (h + PT - i*DH) / SH when that division is exact
 * and 0 <= oh < OH (columns alike). */
__global__ void FN(col2im_kernel)(T *dx, const T *dcol, int64_t N, int64_t C, int64_t H,
                                  int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                                  int64_t PT, int64_t PL, int64_t DH, int64_t DW, int64_t OH,
                                  int64_t OW)
{
    const int64_t P = OH * OW;
    MS_FOR_EACH(k, N * C * H * W) {
        const int64_t w = k % W, h = (k / W) % H, c = (k / (H * W)) % C, n = k / (C * H * W);
        T acc = (T)0;
        for (int64_t i = 0; i < KH; i++) {
            const int64_t th = h + PT - i * DH; /* = oh * SH */
            if (th < 0 || th % SH != 0 || th / SH >= OH)
                continue;
            const int64_t oh = th / SH;
            for (int64_t j = 0; j < KW; j++) {
                const int64_t tw = w + PL - j * DW; /* = ow * SW */
                if (tw < 0 || tw % SW != 0 || tw / SW >= OW)
                    continue;
                const int64_t ow = tw / SW;
                acc += dcol[((c * KH + i) * KW + j) * N * P + n * P + oh * OW + ow];
            }
        }
        dx[k] = acc;
    }
}

extern "C" void FN(col2im)(T *dx, const T *dcol, int64_t N, int64_t C, int64_t H, int64_t W,
                           int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PT,
                           int64_t PL, int64_t DH, int64_t DW, int64_t OH, int64_t OW)
{
    int64_t total = N * C * H * W;
    if (total > 0)
        MS_LAUNCH(FN(col2im_kernel), ms_blocks(total), MS_THREADS, dx, dcol, N, C, H, W, KH,
                  KW, SH, SW, PT, PL, DH, DW, OH, OW);
}
/* --8<-- [end:col2im] */
