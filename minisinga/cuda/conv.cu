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

/* --8<-- [start:conv2d_forward] */
/* The whole convolution, one image at a time, as minisinga/c/conv.c does it:
 *   col_n = im2col(x[n]);  y[n, g] (Og, P) = w[g] (Og, K) @ col_n[g] (K, P);  y += b
 * with P = OH*OW, Og = O/G, K = C/G*KH*KW.  The launches run in order on the
 * default stream, so one col buffer serves every image.  Returns -1 when the
 * col buffer cannot be allocated (the error is kept for Python). */
__global__ void FN(conv_bias_kernel)(T *y, const T *b, int64_t N, int64_t O, int64_t P)
{
    MS_FOR_EACH(k, N * O * P) {
        y[k] += b[(k / P) % O];
    }
}

extern "C" int FN(conv2d_forward)(T *y, const T *x, const T *w, const T *b, int64_t N,
                                  int64_t C, int64_t H, int64_t W, int64_t O, int64_t G,
                                  int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PT,
                                  int64_t PL, int64_t DH, int64_t DW, int64_t OH, int64_t OW)
{
    const int64_t P = OH * OW, Og = O / G, K = C / G * KH * KW;
    T *col = NULL;
    cudaError_t st = cudaMalloc((void **)&col, (size_t)(G * K * P + 1) * sizeof(T));
    ms_cuda_check(st, "cudaMalloc (conv2d_forward's col buffer)");
    if (st != cudaSuccess)
        return -1;
    for (int64_t n = 0; n < N; n++) {
        T *yn = y + n * O * P;
        FN(im2col)(col, x + n * C * H * W, 1, C, H, W, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW);
        for (int64_t g = 0; g < G; g++)
            FN(gemm)(yn + g * Og * P, w + g * Og * K, col + g * K * P, Og, P, K, 0, 0, (T)1,
                     (T)0);
    }
    if (b != NULL && N * O * P > 0)
        MS_LAUNCH(FN(conv_bias_kernel), ms_blocks(N * O * P), MS_THREADS, y, b, N, O, P);
    ms_cuda_check(cudaFree(col), "cudaFree (conv2d_forward's col buffer)");
    return 0;
}
/* --8<-- [end:conv2d_forward] */

/* --8<-- [start:conv2d_backward] */
/* The gradients that are not NULL (each is written), one image at a time:
 *   dx[n] = col2im(dcol_n),  dcol_n[g] (K, P) = w[g]^T (K, Og) @ dy[n, g] (Og, P)
 *   dw[g] (Og, K) = sum_n dy[n, g] (Og, P) @ col_n[g]^T (P, K)   (beta = 1 after image 0)
 *   db[o] = sum_{n, p} dy[n, o, p]   (one thread per o, in order, in double)
 * The images are summed into dw in order, so the result does not depend on the
 * launch configuration (it may differ from the CPU's chunked sum in the last bits). */
__global__ void FN(conv_bias_grad_kernel)(T *db, const T *dy, int64_t N, int64_t O, int64_t P)
{
    MS_FOR_EACH(o, O) {
        double s = 0.0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t p = 0; p < P; p++)
                s += (double)dy[(n * O + o) * P + p];
        db[o] = (T)s;
    }
}

extern "C" int FN(conv2d_backward)(T *dx, T *dw, T *db, const T *dy, const T *x, const T *w,
                                   int64_t N, int64_t C, int64_t H, int64_t W, int64_t O,
                                   int64_t G, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                                   int64_t PT, int64_t PL, int64_t DH, int64_t DW, int64_t OH,
                                   int64_t OW)
{
    const int64_t P = OH * OW, Og = O / G, K = C / G * KH * KW;
    const size_t colbytes = (size_t)(G * K * P + 1) * sizeof(T);
    T *col = NULL, *dcol = NULL;
    if (dw != NULL) {
        cudaError_t st = cudaMalloc((void **)&col, colbytes);
        ms_cuda_check(st, "cudaMalloc (conv2d_backward's col buffer)");
        if (st != cudaSuccess)
            return -1;
    }
    if (dx != NULL) {
        cudaError_t st = cudaMalloc((void **)&dcol, colbytes);
        ms_cuda_check(st, "cudaMalloc (conv2d_backward's dcol buffer)");
        if (st != cudaSuccess) {
            if (col != NULL)
                cudaFree(col);
            return -1;
        }
    }
    for (int64_t n = 0; n < N; n++) {
        const T *dyn = dy + n * O * P;
        if (dx != NULL) {
            for (int64_t g = 0; g < G; g++)
                FN(gemm)(dcol + g * K * P, w + g * Og * K, dyn + g * Og * P, K, P, Og, 1, 0,
                         (T)1, (T)0);
            FN(col2im)(dx + n * C * H * W, dcol, 1, C, H, W, KH, KW, SH, SW, PT, PL, DH, DW,
                       OH, OW);
        }
        if (dw != NULL) {
            FN(im2col)(col, x + n * C * H * W, 1, C, H, W, KH, KW, SH, SW, PT, PL, DH, DW, OH,
                       OW);
            for (int64_t g = 0; g < G; g++)
                FN(gemm)(dw + g * Og * K, dyn + g * Og * P, col + g * K * P, Og, K, P, 0, 1,
                         (T)1, n == 0 ? (T)0 : (T)1);
        }
    }
    if (dw != NULL && N == 0 && O * K > 0)
        FN(fill)(dw, (T)0, O * K);
    if (db != NULL && O > 0)
        MS_LAUNCH(FN(conv_bias_grad_kernel), ms_blocks(O), MS_THREADS, db, dy, N, O, P);
    if (col != NULL)
        ms_cuda_check(cudaFree(col), "cudaFree (conv2d_backward's col buffer)");
    if (dcol != NULL)
        ms_cuda_check(cudaFree(dcol), "cudaFree (conv2d_backward's dcol buffer)");
    return 0;
}
/* --8<-- [end:conv2d_backward] */
