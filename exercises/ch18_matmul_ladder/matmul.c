/* ladder.1 and ladder.3: a fast matmul (docs/performance/matmul-ladder.md).
 *
 * C (n, n) = A (n, n) @ B (n, n), all row-major floats:
 *
 *   C[i, j] = sum_k A[i, k] * B[k, j]
 *
 * ladder.1 checks that it is right for every n (1, 7, 33, ...; C holds NaN
 * before the call).  ladder.3 times it at n = 256 against the naive loop of
 * dev/gemm_ladder/step1_naive.c, both compiled with -O3 -march=native, and
 * asks for 5x.  Start by copying the naive loop here; then climb the ladder.
 *
 *   python -m minisinga.exercises check ladder.1 ladder.3
 */

void matmul(int n, const float *A, const float *B, float *C)
{
    /* TODO: not implemented yet */
    (void)n; (void)A; (void)B; (void)C;
}
