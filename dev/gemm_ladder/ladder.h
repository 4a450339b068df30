/* ladder.h -- the test bench shared by the steps of the GEMM ladder.
 *
 * Each stepN_*.c file defines one function,
 *
 *     void matmul(int n, const float *A, const float *B, float *C);
 *
 * that computes C = A @ B for square, row-major n x n matrices, and then
 * includes this file, which supplies main():
 *
 *     ./step3_blocking 512 1024 2048
 *
 * For each size it fills A and B with random numbers, runs matmul once to
 * warm up and checks 200 random elements of C against a dot product in
 * double precision, then times it (best of a few runs) and prints GFLOP/s,
 * counting 2 n^3 floating-point operations per product. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void matmul(int n, const float *A, const float *B, float *C);

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* A small deterministic generator, uniform in [-1, 1). */
static float rand_float(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((*state >> 40) * (1.0 / (1 << 23))) - 1.0f;
}

int main(int argc, char **argv)
{
    const char *name = STEP_NAME;
    if (argc < 2) {
        fprintf(stderr, "usage: %s n [n ...]\n", argv[0]);
        return 2;
    }
    for (int arg = 1; arg < argc; arg++) {
        int n = atoi(argv[arg]);
        size_t bytes = ((size_t)n * n * sizeof(float) + 63) / 64 * 64;
        float *A = aligned_alloc(64, bytes), *B = aligned_alloc(64, bytes);
        float *C = aligned_alloc(64, bytes);
        uint64_t state = 42;
        for (size_t i = 0; i < (size_t)n * n; i++) {
            A[i] = rand_float(&state);
            B[i] = rand_float(&state);
        }

        /* warm up, and check: |C - A @ B| small relative to sum |a b| */
        matmul(n, A, B, C);
        double worst = 0;
        for (int t = 0; t < 200; t++) {
            int i = (int)(rand_float(&state) * 0.5f * n + 0.5f * n) % n;
            int j = (int)(rand_float(&state) * 0.5f * n + 0.5f * n) % n;
            double exact = 0, scale = 0;
            for (int k = 0; k < n; k++) {
                exact += (double)A[i * n + k] * B[k * n + j];
                scale += fabs((double)A[i * n + k] * B[k * n + j]);
            }
            double err = fabs(C[i * n + j] - exact) / scale;
            if (err > worst)
                worst = err;
        }

        /* time: best of up to 5 runs, at most about 2 seconds in all */
        double best = 1e30, spent = 0;
        for (int r = 0; r < 5 && spent < 2.0; r++) {
            double t0 = now();
            matmul(n, A, B, C);
            double t = now() - t0;
            spent += t;
            if (t < best)
                best = t;
        }
        int threads = 1;
#ifdef _OPENMP
        threads = omp_get_max_threads();
#endif
        printf("%-22s %d thr  n=%5d  %8.1f GFLOP/s  (%.3f s, rel. error %.1e)%s\n", name,
               threads, n,
               2.0 * n * n * (double)n / best / 1e9, best, worst,
               worst < 1e-5 ? "" : "  WRONG");
        free(A);
        free(B);
        free(C);
    }
    return 0;
}
