/* step5_microkernel.c -- step 4 with a register-blocked micro-kernel.
 *
 * C (n, n) = A (n, n) @ B (n, n), all row-major.
 *
 *   for jc (NC columns)       pack B[pc:pc+KC, jc:jc+NC] into NR-wide panels
 *    for pc (KC deep)
 *     for ic (MC rows)        pack A[ic:ic+MC, pc:pc+KC] into MR-tall panels
 *      for jr (NR columns)
 *       for ir (MR rows)      C tile (MR x NR) += A panel (MR x KC) @ B panel (KC x NR)
 *
 * The blocks play the roles of step 3's (a KC x NC block of B, an MC x KC
 * block of A in L2), but now the inner kernel works on a small MR x NR tile
 * of C, and packing lays A and B out so that the kernel reads both with unit
 * stride: a packed A panel is ap[p * MR + i] (k-major), a
 * packed B panel bp[p * NR + j].  The copy costs O(n^2) per block against
 * O(n^3) arithmetic, and buys: contiguous reads (no TLB misses from jumping
 * rows of a large matrix), aligned data, and zero padding at ragged edges.
 *
 * The micro-kernel keeps the whole MR x NR = 12 x 32 tile of C in registers
 * for all kc steps and writes it back once.  Per step of k it loads 32
 * floats of B (two 64-byte AVX-512 registers), broadcasts 12 floats of A and
 * does 24 vector fused multiply-adds into 24 accumulator registers: 27 of the
 * 32 vector registers, no loads or stores of C inside the loop, and 24
 * independent FMAs to keep both FMA units busy.  The compiler does all this
 * from plain C because `acc` has a size known at compile time and the j loop
 * is exactly NR = 32 contiguous floats. */
#include <stdlib.h>
#define STEP_NAME "5 micro-kernel"

/* With -std=c11, GCC does not fuse a * b + c by itself; ask for it by name
 * where the CPU has a fused multiply-add (FP_FAST_FMAF, from math.h). */
#include <math.h>
#ifdef FP_FAST_FMAF
#define FMA(x, y, acc) fmaf((x), (y), (acc))
#else
#define FMA(x, y, acc) ((acc) + (x) * (y))
#endif

enum { MR = 12, NR = 32, KC = 256, MC = 192, NC = 4096 };

static int min(int a, int b) { return a < b ? a : b; }

/* panel at row r (r = 0, MR, 2 MR, ..): ap[r * kc + p * MR + i] = A[i0 + r + i, p0 + p] (0 past mc) */
static void pack_A(float *ap, const float *A, int n, int i0, int p0, int mc, int kc)
{
    for (int r = 0; r < mc; r += MR)
        for (int p = 0; p < kc; p++)
            for (int i = 0; i < MR; i++)
                ap[r * kc + p * MR + i] = (r + i < mc) ? A[(i0 + r + i) * n + p0 + p] : 0;
}

/* panel at column s (s = 0, NR, ..): bp[s * kc + p * NR + j] = B[p0 + p, j0 + s + j] (0 past nc) */
static void pack_B(float *bp, const float *B, int n, int p0, int j0, int kc, int nc)
{
    for (int s = 0; s < nc; s += NR)
        for (int p = 0; p < kc; p++)
            for (int j = 0; j < NR; j++)
                bp[s * kc + p * NR + j] = (s + j < nc) ? B[(p0 + p) * n + j0 + s + j] : 0;
}

/* acc (MR x NR, in registers) = a (MR x kc) @ b (kc x NR);
 * c (its m x n corner, row stride ldc) += acc */
static void kernel(int kc, const float *restrict a, const float *restrict b,
                   float *restrict c, int ldc, int m, int n)
{
    float acc[MR * NR] = {0};
    for (int p = 0; p < kc; p++)
        for (int i = 0; i < MR; i++) {
            float ai = a[p * MR + i];
            for (int j = 0; j < NR; j++)
                acc[i * NR + j] = FMA(ai, b[p * NR + j], acc[i * NR + j]);
        }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            c[i * ldc + j] += acc[i * NR + j];
}

void matmul(int n, const float *A, const float *B, float *C)
{
    float *ap = aligned_alloc(64, sizeof(float) * MC * KC);
    float *bp = aligned_alloc(64, sizeof(float) * KC * NC);
    for (int i = 0; i < n * n; i++)
        C[i] = 0;
    for (int jc = 0; jc < n; jc += NC) {
        int nc = min(NC, n - jc);
        for (int pc = 0; pc < n; pc += KC) {
            int kc = min(KC, n - pc);
            pack_B(bp, B, n, pc, jc, kc, nc);
            for (int ic = 0; ic < n; ic += MC) {
                int mc = min(MC, n - ic);
                pack_A(ap, A, n, ic, pc, mc, kc);
                for (int jr = 0; jr < nc; jr += NR)
                    for (int ir = 0; ir < mc; ir += MR)
                        kernel(kc, ap + ir * kc, bp + jr * kc,
                               C + (ic + ir) * n + jc + jr, n,
                               min(MR, mc - ir), min(NR, nc - jr));
            }
        }
    }
    free(ap);
    free(bp);
}

#include "ladder.h"
