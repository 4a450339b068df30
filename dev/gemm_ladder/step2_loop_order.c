/* step2_loop_order.c -- the same sum, loops in the order i-k-j.
 *
 * C (n, n) = A (n, n) @ B (n, n), all row-major.
 *
 *   C[i, :] = sum_k A[i, k] * B[k, :]
 *
 * Swapping the two inner loops changes nothing in the arithmetic but
 * everything in the memory traffic: the innermost loop now walks a row of B
 * and a row of C, both contiguous, with A[i, k] fixed.  Every cache line is
 * used in full and the compiler vectorises the j loop (16 floats per
 * AVX-512 instruction). */
#define STEP_NAME "2 loop order (i-k-j)"

void matmul(int n, const float *A, const float *B, float *C)
{
    for (int i = 0; i < n * n; i++)
        C[i] = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            float a = A[i * n + k];
            for (int j = 0; j < n; j++)
                C[i * n + j] += a * B[k * n + j];
        }
}

#include "ladder.h"
