/* step1_naive.c -- the textbook triple loop.
 *
 * C (n, n) = A (n, n) @ B (n, n), all row-major.
 *
 *   C[i, j] = sum_k A[i, k] * B[k, j]
 *
 * The innermost loop runs over k: it walks a row of A (contiguous) but a
 * column of B, jumping n floats at every step.  Each of those reads touches
 * a new cache line (64 bytes, of which we use 4), and the loop cannot be
 * vectorised, because the B values it needs are not next to each other. */
#define STEP_NAME "1 naive (i-j-k)"

void matmul(int n, const float *A, const float *B, float *C)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            float sum = 0;
            for (int k = 0; k < n; k++)
                sum += A[i * n + k] * B[k * n + j];
            C[i * n + j] = sum;
        }
}

#include "ladder.h"
