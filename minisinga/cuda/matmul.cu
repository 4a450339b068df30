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
 * A + z strideA, B + z strideB, C + z strideC. */
#include "ms_cuda.h"

#define BM 128
#define BN 128
#define BK 8
#define TM 8 /* rows of C per thread */
#define TN 8 /* columns of C per thread */
#define GEMM_THREADS 256 /* (BM / TM) * (BN / TN) */

/* --8<-- [start:gemm_kernel] */
__global__ void __launch_bounds__(GEMM_THREADS)
FN(gemm_kernel)(T *C, const T *A, const T *B, int64_t batch, int64_t M, int64_t N,
                int64_t K, int transA, int transB, T alpha, T beta, int64_t strideA,
                int64_t strideB, int64_t strideC)
{
    __shared__ T As[BK][BM]; /* As[k][i] = op(A)[row0 + i, k0 + k] */
    __shared__ T Bs[BK][BN]; /* Bs[k][j] = op(B)[k0 + k, col0 + j] */
    const int tid = threadIdx.x;
    const int tx = tid % 16, ty = tid / 16;

    for (int64_t z = blockIdx.z; z < batch; z += gridDim.z) {
        const T *Az = A + z * strideA, *Bz = B + z * strideB;
        T *Cz = C + z * strideC;
        for (int64_t row0 = (int64_t)blockIdx.y * BM; row0 < M; row0 += (int64_t)gridDim.y * BM) {
            int64_t col0 = (int64_t)blockIdx.x * BN;
            T acc[TM][TN];
            for (int a = 0; a < TM; a++)
                for (int b = 0; b < TN; b++)
                    acc[a][b] = (T)0;

            for (int64_t k0 = 0; k0 < K; k0 += BK) {
                /* 1. The block copies the slab into shared memory: BM * BK = 1024
                 *    elements of each operand, 4 per thread, zero outside the
                 *    matrix.  Consecutive threads take consecutive addresses of
                 *    the operand as stored. */
                for (int e = tid; e < BM * BK; e += GEMM_THREADS) {
                    int i, k;
                    if (transA) { k = e / BM; i = e % BM; } /* A stored (K, M) */
                    else        { i = e / BK; k = e % BK; } /* A stored (M, K) */
                    int64_t gi = row0 + i, gk = k0 + k;
                    T v = (T)0;
                    if (gi < M && gk < K)
                        v = transA ? Az[gk * M + gi] : Az[gi * K + gk];
                    As[k][i] = v;
                }
                for (int e = tid; e < BN * BK; e += GEMM_THREADS) {
                    int j, k;
                    if (transB) { j = e / BK; k = e % BK; } /* B stored (N, K) */
                    else        { k = e / BN; j = e % BN; } /* B stored (K, N) */
                    int64_t gj = col0 + j, gk = k0 + k;
                    T v = (T)0;
                    if (gj < N && gk < K)
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

            /* 3. C = alpha * acc + beta * C  (C not read when beta == 0) */
#pragma unroll
            for (int a = 0; a < TM; a++) {
                int64_t gi = row0 + ty + 16 * a;
#pragma unroll
                for (int b = 0; b < TN; b++) {
                    int64_t gj = col0 + tx + 16 * b;
                    if (gi < M && gj < N) {
                        T *c = Cz + gi * N + gj;
                        *c = (beta == (T)0) ? alpha * acc[a][b] : alpha * acc[a][b] + beta * *c;
                    }
                }
            }
        }
    }
}
/* --8<-- [end:gemm_kernel] */

/* --8<-- [start:gemm_batched] */
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
    dim3 grid((unsigned int)tiles_n, (unsigned int)(tiles_m < 65535 ? tiles_m : 65535),
              (unsigned int)(batch < 65535 ? batch : 65535));
    MS_LAUNCH(FN(gemm_kernel), grid, GEMM_THREADS, C, A, B, batch, M, N, K, transA, transB,
              alpha, beta, strideA, strideB, strideC);
}
/* --8<-- [end:gemm_batched] */

/* --8<-- [start:gemm] */
extern "C" void FN(gemm)(T *C, const T *A, const T *B, int64_t M, int64_t N, int64_t K, int transA,
              int transB, T alpha, T beta)
{
    FN(gemm_batched)(C, A, B, 1, M, N, K, transA, transB, alpha, beta, 0, 0, 0);
}
/* --8<-- [end:gemm] */
