/* matmul.c -- GEMM, row-major.  Typed (f32, f64).
 *
 * C (M, N) = alpha * op(A) (M, K) @ op(B) (K, N) + beta * C
 *
 * This is the plain version: the i-k-j loop order, so that the innermost loop
 * walks rows of B and C contiguously and the compiler can vectorise it.
 * (The docs' "making it fast" chapter walks from here to a packed, blocked
 * micro-kernel.) */
#include "minisinga.h"

void FN(gemm)(T *C, const T *A, const T *B, int64_t M, int64_t N, int64_t K,
              int transA, int transB, T alpha, T beta)
{
    /* C = beta * C (when beta == 0, C is overwritten without being read) */
#pragma omp parallel for if (M * N > 65536)
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++)
            C[i * N + j] = (beta == (T)0) ? (T)0 : beta * C[i * N + j];

    /* C[i, j] += alpha * sum_k op(A)[i, k] * op(B)[k, j] */
#pragma omp parallel for if (M * N * K > 262144)
    for (int64_t i = 0; i < M; i++) {
        T *c = C + i * N;
        for (int64_t k = 0; k < K; k++) {
            T a = alpha * (transA ? A[k * M + i] : A[i * K + k]);
            if (!transB) {
                const T *b = B + k * N;
                for (int64_t j = 0; j < N; j++)
                    c[j] += a * b[j];
            } else {
                for (int64_t j = 0; j < N; j++)
                    c[j] += a * B[j * K + k];
            }
        }
    }
}

void FN(gemm_batched)(T *C, const T *A, const T *B, int64_t batch, int64_t M,
                      int64_t N, int64_t K, int transA, int transB, T alpha,
                      T beta, int64_t strideA, int64_t strideB,
                      int64_t strideC)
{
    for (int64_t b = 0; b < batch; b++)
        FN(gemm)(C + b * strideC, A + b * strideA, B + b * strideB, M, N, K,
                 transA, transB, alpha, beta);
}
