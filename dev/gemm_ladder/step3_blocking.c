/* step3_blocking.c -- i-k-j, on blocks that fit in the cache.
 *
 * C (n, n) = A (n, n) @ B (n, n), all row-major.
 *
 *   for each block (I, K, J):  C[I, J] += A[I, K] @ B[K, J]
 *
 * In step 2, every row i streams all of B (n x n floats: 4 MiB at n = 1024)
 * through the cache, so B is read from main memory (or L3) n times.  Here
 * the loops are cut into blocks: a KB x NB block of B (128 x 512 floats =
 * 256 KiB) fits in the 2 MiB L2 cache and is used for all the rows of the
 * MB-row block of A and C before we move on, so it is fetched once per MB
 * rows instead of once per row. */
#define STEP_NAME "3 cache blocking"

enum { MB = 64, KB = 128, NB = 512 };

static int min(int a, int b) { return a < b ? a : b; }

void matmul(int n, const float *A, const float *B, float *C)
{
    for (int i = 0; i < n * n; i++)
        C[i] = 0;
    for (int j0 = 0; j0 < n; j0 += NB)
        for (int k0 = 0; k0 < n; k0 += KB)
            for (int i0 = 0; i0 < n; i0 += MB)
                /* C[i0:, j0:] += A[i0:, k0:] @ B[k0:, j0:], one block, i-k-j */
                for (int i = i0; i < min(i0 + MB, n); i++)
                    for (int k = k0; k < min(k0 + KB, n); k++) {
                        float a = A[i * n + k];
                        for (int j = j0; j < min(j0 + NB, n); j++)
                            C[i * n + j] += a * B[k * n + j];
                    }
}

#include "ladder.h"
