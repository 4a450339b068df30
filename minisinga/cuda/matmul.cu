/* matmul.cu -- the CUDA twin of minisinga/c/matmul.c: a tiled GEMM.  Typed (f32, f64).
 *
 * C (M, N) = alpha * op(A) (M, K) @ op(B) (K, N) + beta * C, row-major.
 * A is stored (M, K), or (K, M) when transA; B is (K, N), or (N, K) when
 * transB.  When beta == 0, C is not read (it may hold garbage or NaN).
 *
 * The plan (the classic shared-memory + register tiling):
 *   - a block of 256 threads owns a BM x BN = 128 x 128 tile of C;
 *   - it walks K in slabs of BK = 8: the block copies op(A)[tile rows, slab]
 *     and op(B)[slab, tile cols] into shared memory (As, Bs), in whichever
 *     order keeps its global reads coalesced for the given transposes;
 *   - each thread keeps an 8 x 8 block of C in registers, and for every k of
 *     the slab does 64 multiply-adds from 8 values of As and 8 of Bs: each
 *     value it loads from shared memory is used 8 times.
 *   Thread (ty, tx) of the 16 x 16 grid owns rows ty + 16 a and columns
 *   tx + 16 b (a, b < 8): neighbouring threads read neighbouring words of
 *   Bs (no bank conflicts) and write neighbouring elements of C (coalesced).
 * The batched version runs product z = blockIdx.z (grid-stride) at
 * A + z strideA, B + z strideB, C + z strideC.
 *
 * Split K.  A product with few tiles of C and a long K (a linear layer
 * reading a flattened image: (32, 25088) @ (25088, 10) is ONE tile) would keep
 * one block walking 3,136 slabs while the rest of the GPU idles.  Then K is
 * cut into `splits` chunks of `kchunk`: block z = p * splits + s computes
 * product p over chunk s and writes its raw tile to a scratch buffer of
 * partial products, and a second kernel adds the chunks in order
 * (s = 0, 1, ...) and applies alpha and beta.  The order is fixed, so a rerun
 * gives the same bits; it is not the one-chunk order, so the last bits may
 * differ from an unsplit product's. */
#include "ms_cuda.h"

#define BM 128
#define BN 128
#define BK 8
#define TM 8 /* rows of C per thread */
#define TN 8 /* columns of C per thread */
#define GEMM_THREADS 256 /* (BM / TM) * (BN / TN) */
#define SPLITK_BLOCKS 128 /* split K until about this many blocks (a wave on an H100) */
#define SPLITK_MIN_K 256  /* ... but give each chunk at least this much of K (32 slabs) */

__global__ void __launch_bounds__(GEMM_THREADS)
FN(gemm_kernel)(T *C, const T *A, const T *B, int64_t batch, int64_t M, int64_t N,
                int64_t K, int transA, int transB, T alpha, T beta, int64_t strideA,
                int64_t strideB, int64_t strideC, int64_t splits, int64_t kchunk, T *partial)
{
    __shared__ T As[BK][BM]; /* As[k][i] = op(A)[row0 + i, k0 + k] */
    __shared__ T Bs[BK][BN]; /* Bs[k][j] = op(B)[k0 + k, col0 + j] */
    const int tid = threadIdx.x;
    const int tx = tid % 16, ty = tid / 16;

    for (int64_t z = blockIdx.z; z < batch * splits; z += gridDim.z) {
        const int64_t p = z / splits;                  /* the product */
        const int64_t kbeg = (z % splits) * kchunk;    /* its chunk of K */
        const int64_t kend = kbeg + kchunk < K ? kbeg + kchunk : K;
        const T *Az = A + p * strideA, *Bz = B + p * strideB;
        T *Cz = C + p * strideC;
        for (int64_t row0 = (int64_t)blockIdx.y * BM; row0 < M; row0 += (int64_t)gridDim.y * BM) {
            int64_t col0 = (int64_t)blockIdx.x * BN;
            T acc[TM][TN];
            for (int a = 0; a < TM; a++)
                for (int b = 0; b < TN; b++)
                    acc[a][b] = (T)0;

            for (int64_t k0 = kbeg; k0 < kend; k0 += BK) {
                /* 1. The block copies the slab into shared memory: BM * BK = 1024
                 *    elements of each operand, 4 per thread, zero outside the
                 *    matrix (and its chunk of K).  Consecutive threads take
                 *    consecutive addresses of the operand as stored. */
                for (int e = tid; e < BM * BK; e += GEMM_THREADS) {
                    int i, k;
                    if (transA) { k = e / BM; i = e % BM; } /* A stored (K, M) */
                    else        { i = e / BK; k = e % BK; } /* A stored (M, K) */
                    int64_t gi = row0 + i, gk = k0 + k;
                    T v = (T)0;
                    if (gi < M && gk < kend)
                        v = transA ? Az[gk * M + gi] : Az[gi * K + gk];
                    As[k][i] = v;
                }
                for (int e = tid; e < BN * BK; e += GEMM_THREADS) {
                    int j, k;
                    if (transB) { j = e / BK; k = e % BK; } /* B stored (N, K) */
                    else        { k = e / BN; j = e % BN; } /* B stored (K, N) */
                    int64_t gj = col0 + j, gk = k0 + k;
                    T v = (T)0;
                    if (gj < N && gk < kend)
                        v = transB ? Bz[gj * K + gk] : Bz[gk * N + gj];
                    Bs[k][j] = v;
                }
                __syncthreads();

                /* 2. acc[a][b] += As[k][ty + 16 a] * Bs[k][tx + 16 b] */
#pragma unroll
                for (int k = 0; k < BK; k++) {
                    T ra[TM], rb[TN];
#pragma unroll
                    for (int a = 0; a < TM; a++)
                        ra[a] = As[k][ty + 16 * a];
#pragma unroll
                    for (int b = 0; b < TN; b++)
                        rb[b] = Bs[k][tx + 16 * b];
#pragma unroll
                    for (int a = 0; a < TM; a++)
#pragma unroll
                        for (int b = 0; b < TN; b++)
                            acc[a][b] += ra[a] * rb[b];
                }
                __syncthreads(); /* the slab is overwritten next */
            }

            /* 3. C = alpha * acc + beta * C  (C not read when beta == 0).
             *    Split: the raw tile goes to partial product z (M x N), and
             *    gemm_splitk_sum_kernel finishes it. */
            T *out = partial != NULL ? partial + z * M * N : Cz;
#pragma unroll
            for (int a = 0; a < TM; a++) {
                int64_t gi = row0 + ty + 16 * a;
#pragma unroll
                for (int b = 0; b < TN; b++) {
                    int64_t gj = col0 + tx + 16 * b;
                    if (gi < M && gj < N) {
                        T *c = out + gi * N + gj;
                        if (partial != NULL)
                            *c = acc[a][b];
                        else
                            *c = (beta == (T)0) ? alpha * acc[a][b] : alpha * acc[a][b] + beta * *c;
                    }
                }
            }
        }
    }
}

/* C = alpha * (partial 0 + partial 1 + ... + partial splits-1) + beta * C,
 * the chunks added in order (C not read when beta == 0). */
__global__ void FN(gemm_splitk_sum_kernel)(T *C, const T *partial, int64_t splits, int64_t MN,
                                           T alpha, T beta)
{
    MS_FOR_EACH(i, MN) {
        T acc = partial[i];
        for (int64_t s = 1; s < splits; s++)
            acc += partial[s * MN + i];
        C[i] = (beta == (T)0) ? alpha * acc : alpha * acc + beta * C[i];
    }
}

extern "C" void FN(gemm_batched)(T *C, const T *A, const T *B, int64_t batch, int64_t M, int64_t N,
                      int64_t K, int transA, int transB, T alpha, T beta, int64_t strideA,
                      int64_t strideB, int64_t strideC)
{
    if (batch <= 0 || M <= 0 || N <= 0)
        return;
    int64_t tiles_n = (N + BN - 1) / BN, tiles_m = (M + BM - 1) / BM;
    if (tiles_n > 2147483647) {
        ms_cuda_check(cudaErrorInvalidValue, "gemm (N too large for one grid)");
        return;
    }
    /* Split K when one product has too few tiles to fill the GPU (see the top). */
    int64_t splits = 1, kchunk = K;
    T *partial = NULL;
    if (batch == 1 && tiles_m * tiles_n < SPLITK_BLOCKS && K >= 2 * SPLITK_MIN_K) {
        int64_t want = (SPLITK_BLOCKS + tiles_m * tiles_n - 1) / (tiles_m * tiles_n);
        int64_t most = K / SPLITK_MIN_K;
        splits = want < most ? want : most;
        kchunk = ((K + splits - 1) / splits + BK - 1) / BK * BK; /* whole slabs */
        splits = (K + kchunk - 1) / kchunk;
        partial = (T *)ms_cuda_scratch(MS_SCRATCH_GEMM, splits * M * N * (int64_t)sizeof(T));
        if (partial == NULL) { /* no scratch memory: one block per tile, as before */
            splits = 1;
            kchunk = K;
        }
    }
    int64_t zs = batch * splits;
    dim3 grid((unsigned int)tiles_n, (unsigned int)(tiles_m < 65535 ? tiles_m : 65535),
              (unsigned int)(zs < 65535 ? zs : 65535));
    MS_LAUNCH(FN(gemm_kernel), grid, GEMM_THREADS, C, A, B, batch, M, N, K, transA, transB,
              alpha, beta, strideA, strideB, strideC, splits, kchunk, partial);
    if (partial != NULL)
        MS_LAUNCH(FN(gemm_splitk_sum_kernel), ms_blocks(M * N), MS_THREADS, C, partial, splits,
                  M * N, alpha, beta);
}

extern "C" void FN(gemm)(T *C, const T *A, const T *B, int64_t M, int64_t N, int64_t K, int transA,
              int transB, T alpha, T beta)
{
    FN(gemm_batched)(C, A, B, 1, M, N, K, transA, transB, alpha, beta, 0, 0, 0);
}
