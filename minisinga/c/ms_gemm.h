/* ms_gemm.h -- the GEMM entry points that kernel files share but Python does not
 * see (minisinga.h is the Python interface; this is included after T and FN are
 * defined, so once per element type).  Defined in matmul.c. */
#ifndef MS_GEMM_H
#define MS_GEMM_H

/* C (M, N) = A (M, K) @ B (K, N) + beta * C with B[p, j] = brows[p][j]
 * (C is not read when beta == 0). */
void FN(gemm_brows)(T *C, const T *A, const T *const *brows, int64_t M, int64_t N,
                    int64_t K, T beta);

/* The same with B's rows in segments of seg columns, gap values apart:
 * B[p, s * seg + j] = brows[p][s * gap + j] (j < seg; N a multiple of seg).
 * Returns 0, or -1 when its buffers cannot be allocated. */
int FN(gemm_brows_segments)(T *C, const T *A, const T *const *brows, int64_t M, int64_t N,
                            int64_t K, T beta, int64_t seg, int64_t gap);

/* The micro-kernel's tile: a GEMM computes C *mr rows by *nr columns at a time, so
 * a product with m rows does ceil(m / mr) * mr rows' work (conv.c weighs its fast
 * code against its reference with this). */
void FN(gemm_tile)(int64_t *mr, int64_t *nr);

#endif /* MS_GEMM_H */
