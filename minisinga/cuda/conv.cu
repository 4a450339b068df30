/* conv.cu -- the CUDA twins of minisinga/c/conv.c: im2col and col2im, the data
 * movers that lower convolution onto GEMM (matmul.cu), and the whole
 * convolution built from them: the algorithm of conv.c's reference code (the
 * CPU's fast paths of conv_fast.c have no twin).  Typed (f32, f64).
 *
 * Geometry (Python computes and checks it): ms_conv_geom (minisinga.h), as in
 * conv.c, passed by value down to the kernels:
 *   x (N, C, H, W);  col (C*KH*KW, N*OH*OW);
 *   input row of kernel tap i at output row oh:  ih = oh*SH - PT + i*DH
 *   input col of kernel tap j at output col ow:  iw = ow*SW - PL + j*DW
 *   taps that fall into the padding read 0.
 *
 * The column matrix comes in two layouts, one kernel each way for both:
 *   by rows   (the C twins' layout):  col[r, n*P + p]     = col[(r*N + n)*P + p]
 *   by images (conv2d_* below):       col[n][r, p]        = col[(n*CKK + r)*P + p]
 * with r = (c*KH + i)*KW + j < CKK = C*KH*KW and P = OH*OW.  By images, image
 * n's matrix is compact, so one batched GEMM serves every image.
 *
 * im2col: one thread per element of col (a pure gather).
 * col2im: one thread per element of dx, which adds the (at most KH*KW)
 * entries of dcol that im2col copied from it, in the order (i, j) -- the
 * order in which the C loop adds them, so the sums are the CPU's bit for bit
 * and no two threads ever write the same element (no atomics). */
#include "ms_cuda.h"

/* x: (N, C, H, W) -> col, by rows (by_images == 0) or by images (see the top)
 *   col[(c*KH + i)*KW + j, (n*OH + oh)*OW + ow] = x[n, c, ih, iw]   (0 in the padding) */
__global__ void FN(im2col_kernel)(T *col, const T *x, ms_conv_geom geom, int by_images)
{
    const int64_t N = geom.N, C = geom.C, H = geom.H, W = geom.W, KH = geom.KH, KW = geom.KW;
    const int64_t SH = geom.SH, SW = geom.SW, PT = geom.PT, PL = geom.PL, DH = geom.DH;
    const int64_t DW = geom.DW, OH = geom.OH, OW = geom.OW, P = OH * OW, CKK = C * KH * KW;
    MS_FOR_EACH(k, CKK * N * P) {
        const int64_t ow = k % OW, oh = (k / OW) % OH, q = k / P; /* q: the row of col */
        const int64_t n = by_images ? q / CKK : q % N, r = by_images ? q % CKK : q / N;
        const int64_t c = r / (KH * KW), i = (r / KW) % KH, j = r % KW;
        const int64_t ih = oh * SH - PT + i * DH, iw = ow * SW - PL + j * DW;
        col[k] = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? x[((n * C + c) * H + ih) * W + iw]
                                                          : (T)0;
    }
}

static void FN(im2col_as)(T *col, const T *x, ms_conv_geom geom, int by_images)
{
    int64_t total = geom.C * geom.KH * geom.KW * geom.N * geom.OH * geom.OW;
    if (total > 0)
        MS_LAUNCH(FN(im2col_kernel), ms_blocks(total), MS_THREADS, col, x, geom, by_images);
}

extern "C" void FN(im2col)(T *col, const T *x, ms_conv_geom geom)
{
    FN(im2col_as)(col, x, geom, 0);
}

/* The adjoint of im2col: dcol (by rows or by images) -> dx (N, C, H, W)
 *   dx[n, c, h, w] = sum over the taps (i, j) whose output position (oh, ow)
 *                    reads (h, w) of dcol[(c, i, j), (n, oh, ow)]
 * Tap i reads row h at oh = (h + PT - i*DH) / SH when that division is exact
 * and 0 <= oh < OH (columns alike). */
__global__ void FN(col2im_kernel)(T *dx, const T *dcol, ms_conv_geom geom, int by_images)
{
    const int64_t N = geom.N, C = geom.C, H = geom.H, W = geom.W, KH = geom.KH, KW = geom.KW;
    const int64_t SH = geom.SH, SW = geom.SW, PT = geom.PT, PL = geom.PL, DH = geom.DH;
    const int64_t DW = geom.DW, OH = geom.OH, OW = geom.OW, P = OH * OW, CKK = C * KH * KW;
    /* dcol[r, n, p] is at r * rs + n * ns + p */
    const int64_t rs = by_images ? P : N * P, ns = by_images ? CKK * P : P;
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
                acc += dcol[((c * KH + i) * KW + j) * rs + n * ns + oh * OW + ow];
            }
        }
        dx[k] = acc;
    }
}

static void FN(col2im_as)(T *dx, const T *dcol, ms_conv_geom geom, int by_images)
{
    int64_t total = geom.N * geom.C * geom.H * geom.W;
    if (total > 0)
        MS_LAUNCH(FN(col2im_kernel), ms_blocks(total), MS_THREADS, dx, dcol, geom, by_images);
}

extern "C" void FN(col2im)(T *dx, const T *dcol, ms_conv_geom geom)
{
    FN(col2im_as)(dx, dcol, geom, 0);
}

/* The whole convolution.  The C reference goes one image at a time; a GPU wants
 * more work per launch, so here a chunk of nb images goes at once:
 *   col[n] = im2col(x[n]) by images, for the nb images of the chunk;
 *   y[n, g] (Og, P) = w[g] (Og, K) @ col[n][g] (K, P)  -- one batched GEMM per group
 *   y += b
 * with P = OH*OW, Og = O/G, K = C/G*KH*KW.  nb: as many images as fit
 * MS_CONV_COLUMNS bytes of columns (at least one).  The columns live in a
 * scratch buffer (ms_cuda_scratch) kept between calls.  Returns -1 when it
 * cannot be had (the error is kept for Python). */
#ifndef MS_CUDA_EMULATE
#define MS_CONV_COLUMNS ((int64_t)256 << 20)
#else /* tiny on the emulator, so that the tests' small convolutions span chunks */
#define MS_CONV_COLUMNS ((int64_t)16 << 10)
#endif

static int64_t FN(conv_chunk)(int64_t N, int64_t CKK, int64_t P)
{
    int64_t per_image = CKK * P * (int64_t)sizeof(T);
    int64_t nb = per_image > 0 ? MS_CONV_COLUMNS / per_image : N;
    return nb < 1 ? 1 : (nb < N ? nb : N);
}

static T *FN(conv_scratch)(int slot, int64_t elements, const char *what)
{
    T *buf = (T *)ms_cuda_scratch(slot, elements * (int64_t)sizeof(T));
    if (buf == NULL)
        ms_cuda_check(cudaErrorMemoryAllocation, what);
    return buf;
}

__global__ void FN(conv_bias_kernel)(T *y, const T *b, int64_t N, int64_t O, int64_t P)
{
    MS_FOR_EACH(k, N * O * P) {
        y[k] += b[(k / P) % O];
    }
}

/* The geometry of a chunk of m images (im2col and col2im take a batch). */
static ms_conv_geom chunk_of(ms_conv_geom geom, int64_t m)
{
    geom.N = m;
    return geom;
}

extern "C" int FN(conv2d_forward)(T *y, const T *x, const T *w, const T *b, ms_conv_geom geom)
{
    const int64_t N = geom.N, C = geom.C, H = geom.H, W = geom.W, O = geom.O, G = geom.G;
    const int64_t P = geom.OH * geom.OW, Og = O / G, K = C / G * geom.KH * geom.KW, CKK = G * K;
    const int64_t nb = FN(conv_chunk)(N, CKK, P);
    T *col = FN(conv_scratch)(MS_SCRATCH_COL, nb * CKK * P + 1,
                              "cudaMalloc (conv2d_forward's col buffer)");
    if (col == NULL)
        return -1;
    for (int64_t n0 = 0; n0 < N; n0 += nb) {
        const int64_t m = N - n0 < nb ? N - n0 : nb; /* images in this chunk */
        FN(im2col_as)(col, x + n0 * C * H * W, chunk_of(geom, m), 1);
        for (int64_t g = 0; g < G; g++)
            FN(gemm_batched)(y + n0 * O * P + g * Og * P, w + g * Og * K, col + g * K * P, m,
                             Og, P, K, 0, 0, (T)1, (T)0, 0, CKK * P, O * P);
    }
    if (b != NULL && N * O * P > 0)
        MS_LAUNCH(FN(conv_bias_kernel), ms_blocks(N * O * P), MS_THREADS, y, b, N, O, P);
    return 0;
}

/* The gradients that are not NULL (each is written), a chunk of nb images at a time:
 *   dx:  dcol[n][g] (K, P) = w[g]^T (K, Og) @ dy[n, g] (Og, P)   (batched GEMM),
 *        dx[n] = col2im(dcol[n])
 *   dw:  part[n][g] (Og, K) = dy[n, g] (Og, P) @ col[n][g]^T (P, K)  (batched GEMM),
 *        dw = sum over the images, in order (conv_weight_sum_kernel; beta = 1
 *        after the first chunk)
 *   db[o] = sum_{n, p} dy[n, o, p]   (a block per o, in double)
 * The images are summed into dw in order, as in conv.c's reference, so the result
 * does not depend on the launch configuration (it may differ from the CPU's in the
 * last bits: the GEMMs add in another order, and the CPU's fast dw in chunks). */
__global__ void FN(conv_weight_sum_kernel)(T *dw, const T *part, int64_t m, int64_t OK,
                                           int first)
{
    MS_FOR_EACH(e, OK) {
        T acc = first ? (T)0 : dw[e];
        for (int64_t n = 0; n < m; n++)
            acc += part[n * OK + e];
        dw[e] = acc;
    }
}

/* db[o]: block o's threads stride over the N*P values of channel o and meet
 * in ms_block_reduce (fixed order: the same bits on every run). */
__global__ void FN(conv_bias_grad_kernel)(T *db, const T *dy, int64_t N, int64_t O, int64_t P)
{
    for (int64_t o = blockIdx.x; o < O; o += gridDim.x) {
        double s = 0.0;
        for (int64_t e = threadIdx.x; e < N * P; e += blockDim.x)
            s += (double)dy[((e / P) * O + o) * P + e % P];
        s = ms_block_reduce<MsSum<double> >(s);
        if (threadIdx.x == 0)
            db[o] = (T)s;
    }
}

extern "C" int FN(conv2d_backward)(T *dx, T *dw, T *db, const T *dy, const T *x, const T *w,
                                   ms_conv_geom geom)
{
    const int64_t N = geom.N, C = geom.C, H = geom.H, W = geom.W, O = geom.O, G = geom.G;
    const int64_t P = geom.OH * geom.OW, Og = O / G, K = C / G * geom.KH * geom.KW, CKK = G * K;
    const int64_t nb = FN(conv_chunk)(N, CKK, P);
    T *col = NULL, *dcol = NULL;
    if (dw != NULL || dx != NULL) {
        /* col (for dw) and dcol (for dx) take turns in one buffer of columns;
         * dw's partial products (nb x O x K) go into a second slot */
        col = FN(conv_scratch)(MS_SCRATCH_COL, nb * CKK * P + 1,
                               "cudaMalloc (conv2d_backward's col buffer)");
        if (col == NULL)
            return -1;
        dcol = col;
    }
    T *part = NULL;
    if (dw != NULL) {
        part = FN(conv_scratch)(MS_SCRATCH_PART, nb * O * K + 1,
                                "cudaMalloc (conv2d_backward's weight partials)");
        if (part == NULL)
            return -1;
    }
    for (int64_t n0 = 0; n0 < N; n0 += nb) {
        const int64_t m = N - n0 < nb ? N - n0 : nb; /* images in this chunk */
        const T *dyc = dy + n0 * O * P;
        if (dw != NULL) {
            FN(im2col_as)(col, x + n0 * C * H * W, chunk_of(geom, m), 1);
            for (int64_t g = 0; g < G; g++)
                FN(gemm_batched)(part + g * Og * K, dyc + g * Og * P, col + g * K * P, m, Og, K,
                                 P, 0, 1, (T)1, (T)0, O * P, CKK * P, O * K);
            if (O * K > 0)
                MS_LAUNCH(FN(conv_weight_sum_kernel), ms_blocks(O * K), MS_THREADS, dw, part, m,
                          O * K, n0 == 0);
        }
        if (dx != NULL) {
            for (int64_t g = 0; g < G; g++)
                FN(gemm_batched)(dcol + g * K * P, w + g * Og * K, dyc + g * Og * P, m, K, P, Og,
                                 1, 0, (T)1, (T)0, 0, O * P, CKK * P);
            FN(col2im_as)(dx + n0 * C * H * W, dcol, chunk_of(geom, m), 1);
        }
    }
    if (dw != NULL && N == 0 && O * K > 0)
        FN(fill)(dw, (T)0, O * K);
    if (db != NULL && O > 0)
        MS_LAUNCH(FN(conv_bias_grad_kernel), (unsigned int)(O < 65535 ? O : 65535), MS_THREADS,
                  db, dy, N, O, P);
    return 0;
}
