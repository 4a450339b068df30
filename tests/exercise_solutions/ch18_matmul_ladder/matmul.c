/* Reference solution of ladder.1 and ladder.3: loop order i-k-j, four rows of
 * C at a time (each B row loaded once for four FMAs), blocked over k. */
#include <string.h>

#define KB 128

void matmul(int n, const float *A, const float *B, float *C)
{
    memset(C, 0, (size_t)n * n * sizeof(float));
    for (int k0 = 0; k0 < n; k0 += KB) {
        int k1 = k0 + KB < n ? k0 + KB : n;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            float *c0 = C + (size_t)i * n, *c1 = c0 + n, *c2 = c1 + n, *c3 = c2 + n;
            for (int k = k0; k < k1; k++) {
                const float *b = B + (size_t)k * n;
                float a0 = A[(size_t)i * n + k], a1 = A[(size_t)(i + 1) * n + k];
                float a2 = A[(size_t)(i + 2) * n + k], a3 = A[(size_t)(i + 3) * n + k];
                for (int j = 0; j < n; j++) {
                    c0[j] += a0 * b[j];
                    c1[j] += a1 * b[j];
                    c2[j] += a2 * b[j];
                    c3[j] += a3 * b[j];
                }
            }
        }
        for (; i < n; i++)          /* the rows left over when n % 4 != 0 */
            for (int k = k0; k < k1; k++) {
                float a = A[(size_t)i * n + k];
                for (int j = 0; j < n; j++)
                    C[(size_t)i * n + j] += a * B[(size_t)k * n + j];
            }
    }
}
