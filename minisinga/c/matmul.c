/* matmul.c -- GEMM, row-major.  Typed (f32, f64).
 *
 *   C (M, N) = alpha * op(A) (M, K) @ op(B) (K, N) + beta * C
 *
 *   A is stored (M, K), or (K, M) when transA;
 *   B is stored (K, N), or (N, K) when transB;
 *   C is stored (M, N).  When beta == 0, C is written without being read.
 *
 * This is the BLIS / GotoBLAS algorithm in plain C.  The chapter
 * docs/performance/matmul-ladder.md builds it one step at a time (the steps
 * are the small programs in dev/gemm_ladder/); this file is the last step,
 * plus the edges a library needs (transposes, alpha/beta, ragged sizes,
 * batches).  Reading order:
 *
 *   1. the block sizes (MR, NR, KC, MC, NC) and why they are what they are;
 *   2. microkernel: one MR x NR tile of C, the only place the flops happen;
 *   3. pack_A / pack_B: copy a block of op(A) / op(B) into the order the
 *      micro-kernel reads it, which also absorbs the transposes;
 *   4. gemm_blocked: the five loops around the micro-kernel, with OpenMP;
 *   5. gemm_small: a plain i-k-j loop for small products, where packing and
 *      threads cost more than they save;
 *   6. gemm and gemm_batched, the two public functions.
 *
 * The compiler vectorises the micro-kernel (the build uses -O3 and, unless
 * MINISINGA_PORTABLE=1, -march=native): no intrinsics are needed, because the
 * loop has exactly the shape a vector unit wants (see the comment there). */
#include <stdlib.h>
#include <string.h>
#include <tgmath.h> /* fma() that picks fmaf for float */
#include "minisinga.h"
#include "ms_gemm.h"
#include "ms_parallel.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* ------------------------------------------------------------ block sizes
 *
 * The register tile.  The micro-kernel keeps an MR x NR tile of C in vector
 * registers while it walks k.  Each step of k loads one row of NR values of
 * B (NR / VL vector loads, VL = values per vector register), broadcasts MR
 * values of A, and does MR * NR / VL fused multiply-adds.  Two rules:
 *   - the MR * NR / VL accumulators, the NR / VL loaded B vectors and one
 *     broadcast register must fit in the register file, and
 *   - there must be enough independent FMAs in flight to hide their latency
 *     (about 4 cycles x 2 FMA units = 8 at least).
 * With AVX-512 (32 registers of 64 bytes): NR = 2 vectors and MR = 8 give
 * 16 accumulators + 2 + 1 = 19 registers, and 16 independent FMAs per k.
 * (MR = 12 would fit too, 27 registers, and runs large square products as
 * fast; but the products of a small network have M = 32 or 64 -- output
 * channels, batch rows -- which MR = 8 divides and MR = 12 does not: with
 * MR = 12 a 32-row product computes 36 rows, and the conv and MLP GEMMs ran
 * 10-20% slower.)  With AVX/AVX2 or plain SSE there are 16 registers, so
 * MR = 6: 12 + 2 + 1 = 15.  NR is two vectors of whichever element type we
 * are compiled for (32 floats or 16 doubles with AVX-512). */
#if defined(__AVX512F__)
#define MS_VEC_BYTES 64
#define MS_MR 8
#elif defined(__AVX__)
#define MS_VEC_BYTES 32
#define MS_MR 6
#else
#define MS_VEC_BYTES 16
#define MS_MR 6
#endif

/* The cache blocks (sizes in elements).
 *   KC: the depth of one pass over k.  Each pass ends with a read-modify-write
 *       of the C tile, so deeper is better as long as the micro-kernel's
 *       panels still come from L1/L2 fast enough: the A panel (MR x KC) and
 *       the B panel (KC x NR) are 16 KiB and 64 KiB for KC = 512 floats,
 *       which the L1 (48 KiB) and L2 (2 MiB) of the development machine feed
 *       at full speed.  (KC is 2 KiB of elements: 512 floats, 256 doubles.)
 *   MC: rows of A packed at once.  The packed A block (MC x KC = 96 x 512
 *       floats = 192 KiB) is reused for every NR-wide panel of B, so it must
 *       stay in the 2 MiB L2 together with the B panels passing through.
 *   NC: columns of B packed at once; the packed B block (KC x NC, 8 MiB)
 *       is reused for every MC block of A and lives in L2/L3.
 * A sweep on the development machine (Intel Xeon, AVX-512, 48 KiB L1d and
 * 2 MiB L2 per core) found KC = 512 with MC = 96 or 192 fastest for f32
 * (about 10% better than KC = 256), and KC = 192..384 a little slower.
 * Any positive multiples of MR (for MC) and NR (for NC) give correct
 * results. */
enum {
    MR = MS_MR,
    NR = 2 * MS_VEC_BYTES / sizeof(T),
    KC = 2048 / sizeof(T),
    MC = 96, /* a multiple of MR = 6 and 8 */
    NC = 4096,
};

/* Products with fewer multiply-adds than this take the small path.  Only
 * tiny ones do: packing pays for itself already at 16^3, and gemm_small's
 * loops, which carry a dependency through every k or read op(B) with a
 * stride, ran the narrow products of an MLP's last layer (N = 10) six times
 * slower than the blocked path. */
#define MS_GEMM_SMALL 4096 /* = 16^3 */
/* Products with fewer multiply-adds than this stay on one thread. */
#define MS_GEMM_PARALLEL 2097152 /* = 128^3 */

/* acc + x * y.  The build compiles in ISO C mode (-std=c11), in which GCC does
 * not fuse a multiply and an add by itself, so we ask for the fused
 * multiply-add by name -- but only where the CPU has one (FP_FAST_FMA*, from
 * math.h); elsewhere fma() would be a slow library call. */
#if defined(FP_FAST_FMA) && defined(FP_FAST_FMAF)
#define MS_FMA(x, y, acc) fma((x), (y), (acc))
#else
#define MS_FMA(x, y, acc) ((acc) + (x) * (y))
#endif

/* A hint to start loading a cache line that will be written (GCC, Clang);
 * a no-op elsewhere. */
#if defined(__GNUC__)
#define MS_PREFETCH_W(ptr) __builtin_prefetch((ptr), 1)
#else
#define MS_PREFETCH_W(ptr) ((void)(ptr))
#endif

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Elements of one thread's packed A block: MC x KC, or less when op(A) is
 * smaller (M rounded up to whole MR panels). */
static inline int64_t a_block_size(int64_t M, int64_t K)
{
    return min64(MC, (M + MR - 1) / MR * MR) * min64(KC, K);
}

/* --------------------------------------------------------- micro-kernel
 *
 * a: packed MR x kc panel of op(A), stored k-major: a[p * MR + i]
 * b: packed kc x NR panel of op(B), stored k-major: b[p * NR + j];
 *    or, when brow is not NULL, a panel read where it lies: its row p is the
 *    NR values at brow[p] + boff (see gemm_rowblock)
 * c: the m x n corner (m <= MR, n <= NR) of C, row stride ldc
 *
 *   acc[i, j] = sum_p a[p, i] * b[p, j]
 *   c[i, j]   = alpha * acc[i, j] + beta * c[i, j]    (c not read if beta == 0)
 *
 * Why the compiler turns this into pure FMAs: `acc` has a size known at
 * compile time, so it lives in registers; the j loop runs over NR contiguous
 * values of b (NR / VL vector loads) and one scalar a[p * MR + i] (one
 * broadcast), which is exactly one vector FMA per VL values.  The panels are
 * zero-padded by the packing, so the loop never needs a ragged edge; only
 * the write-back looks at m and n. */
static void microkernel(int64_t kc, const T *restrict a, const T *restrict b,
                        const T *const *brow, int64_t boff, T *restrict c, int64_t ldc,
                        int64_t m, int64_t n, T alpha, T beta)
{
    T acc[MR * NR] = {0};

    /* Ask for the C tile's cache lines now, so that they arrive while the
     * k loop runs instead of stalling the write-back (C is too big for the
     * caches; this is worth about 5% at n = 2048). */
    for (int64_t i = 0; i < m; i++) {
        MS_PREFETCH_W(c + i * ldc);
        MS_PREFETCH_W(c + i * ldc + n - 1);
    }

    for (int64_t p = 0; p < kc; p++) {
        const T *bp = brow != NULL ? brow[p] + boff : b + p * NR;
        for (int i = 0; i < MR; i++) {
            T ai = a[p * MR + i];
            for (int j = 0; j < NR; j++)
                acc[i * NR + j] = MS_FMA(ai, bp[j], acc[i * NR + j]);
        }
    }

    if (m == MR && n == NR) { /* the common, full tile */
        if (beta == (T)0) {
            for (int i = 0; i < MR; i++)
                for (int j = 0; j < NR; j++)
                    c[i * ldc + j] = alpha * acc[i * NR + j];
        } else {
            for (int i = 0; i < MR; i++)
                for (int j = 0; j < NR; j++)
                    c[i * ldc + j] = alpha * acc[i * NR + j] + beta * c[i * ldc + j];
        }
        return;
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
            c[i * ldc + j] = (beta == (T)0)
                                 ? alpha * acc[i * NR + j]
                                 : alpha * acc[i * NR + j] + beta * c[i * ldc + j];
}

/* --------------------------------------------------------------- packing
 *
 * op(A)[i, p] = A[i * rsa + p * csa] and op(B)[p, j] = B[p * rsb + j * csb]:
 * a transpose is only a swap of the two strides, and packing is the one
 * place that reads A and B, so the micro-kernel never sees a transpose.
 *
 * pack_A: the mc x kc block of op(A) at (i0, p0), as ceil(mc / MR) panels;
 *   the panel starting at row r (r = 0, MR, 2 MR, ..) is k-major:
 *   ap[r * kc + p * MR + i] = op(A)[i0 + r + i, p0 + p]
 *   (rows past mc are zero, so the micro-kernel can always do MR rows).
 *   Called by one thread, for its own buffer. */
static void pack_A(T *restrict ap, const T *restrict A, int64_t rsa,
                   int64_t csa, int64_t i0, int64_t p0, int64_t mc, int64_t kc)
{
    for (int64_t r = 0; r < mc; r += MR) {
        T *dst = ap + r * kc;
        int64_t m = min64(MR, mc - r);
        const T *src = A + (i0 + r) * rsa + p0 * csa;
        for (int64_t p = 0; p < kc; p++) {
            for (int64_t i = 0; i < m; i++)
                dst[p * MR + i] = src[i * rsa + p * csa];
            for (int64_t i = m; i < MR; i++)
                dst[p * MR + i] = (T)0;
        }
    }
}

/* With B given by row addresses, op(B)[p, j] = brows[p][brows_col(j)]: column j
 * itself (gemm_brows: rsb = 0), or, for gemm_brows_segments, column j % rsb of
 * segment j / rsb, which starts csb values after the segment before it.  (rsb and
 * csb, B's strides, are not needed for B itself when its rows are given.)  A panel
 * of NR columns never straddles two segments (rsb is a multiple of NR), so the
 * column of its first value is all a panel needs. */
static inline int64_t brows_col(int64_t j, int64_t rsb, int64_t csb)
{
    return rsb > 0 ? j / rsb * csb + j % rsb : j;
}

/* pack_B_panel: one kc x NR panel of op(B), the n <= NR columns at (p0, j0):
 *   dst[p * NR + j] = op(B)[p0 + p, j0 + j]   (columns past n are zero).
 *   When brows is not NULL, op(B) is given by the addresses of its rows
 *   instead, op(B)[p, j] = brows[p][brows_col(j)] (see gemm_brows).
 * A whole panel of contiguous rows copies a constant NR values per k, which
 * the compiler does with NR / VL vector moves. */
static void pack_B_panel(T *restrict dst, const T *restrict B, const T *const *brows,
                         int64_t rsb, int64_t csb, int64_t p0, int64_t j0, int64_t kc,
                         int64_t n)
{
    enum { PB = 64 / sizeof(T) }; /* values of T in a 64-byte cache line */
    if (brows == NULL && rsb == 1 && csb * (int64_t)sizeof(T) >= 4096 && kc >= PB) {
        /* op(B) = B^T with its columns 4 KiB or more apart in memory (a batch of
         * 25,088 features read transposed, for a classifier's forward).  Row by row
         * (the loop below), a row of the panel reads one value from each of NR
         * columns, and the NR cache lines that hold them are reused for the next
         * rows -- but lines 4 KiB apart (nearly) fall into the same few sets of
         * the L1 cache, which holds 8 lines a set: they evict each other before the
         * next row needs them.  So copy the transposition in blocks of PB values of
         * k: for each column one run of PB values (a cache line, used whole), into
         * PB rows of the panel (PB x NR values, 2 KiB, which stay in the L1 cache).
         * The classifier's GEMM (M = 32, N = 10, K = 25,088, 1 thread) took 0.90 ms
         * row by row, 0.62 ms this way; with columns 1 KiB apart (an MLP's 784 x 256
         * weights) row by row was 8% faster. */
        for (int64_t pb = 0; pb < kc; pb += PB) {
            const int64_t pe = pb + PB < kc ? pb + PB : kc;
            for (int64_t j = 0; j < n; j++) {
                const T *col = B + (p0 + pb) + (j0 + j) * csb;
                for (int64_t p = pb; p < pe; p++)
                    dst[p * NR + j] = col[p - pb];
            }
            for (int64_t j = n; j < NR; j++)
                for (int64_t p = pb; p < pe; p++)
                    dst[p * NR + j] = (T)0;
        }
        return;
    }
    for (int64_t p = 0; p < kc; p++) {
        const T *row = brows != NULL ? brows[p0 + p] + brows_col(j0, rsb, csb)
                                     : B + (p0 + p) * rsb + j0 * csb;
        if (n == NR && (brows != NULL || csb == 1)) {
            for (int j = 0; j < NR; j++)
                dst[p * NR + j] = row[j];
        } else {
            const int64_t cs = brows != NULL ? 1 : csb;
            for (int64_t j = 0; j < n; j++)
                dst[p * NR + j] = row[j * cs];
            for (int64_t j = n; j < NR; j++)
                dst[p * NR + j] = (T)0;
        }
    }
}

/* pack_B: the kc x nc block of op(B) at (p0, j0), as ceil(nc / NR) panels;
 *   bp[s * kc + p * NR + j] = op(B)[p0 + p, j0 + s + j]  (s = 0, NR, 2 NR ..)
 *   Called by all threads, which share out the panels a few at a time; the
 *   caller waits at a barrier for them all. */
static void pack_B(T *restrict bp, const T *restrict B, const T *const *brows,
                   int64_t rsb, int64_t csb, int64_t p0, int64_t j0, int64_t kc,
                   int64_t nc)
{
#pragma omp for schedule(dynamic, 4) nowait
    for (int64_t s = 0; s < nc; s += NR)
        pack_B_panel(bp + s * kc, B, brows, rsb, csb, p0, j0 + s, kc, min64(NR, nc - s));
}

/* ---------------------------------------------------- the blocked GEMM
 *
 * Five loops around the micro-kernel (BLIS's names):
 *
 *   for jc in 0..N step NC          5th loop: a column block of C and op(B)
 *     for pc in 0..K step KC        4th loop: pack op(B)[pc:, jc:]  -> bp
 *       for ic in 0..M step MC      3rd loop: pack op(A)[ic:, pc:]  -> ap
 *         for jr in 0..nc step NR   2nd loop: one B panel
 *           for ir in 0..mc step MR 1st loop: one A panel
 *             C[ic+ir:, jc+jr:] (MR x NR) = alpha * ap_panel @ bp_panel
 *                                           + (pc == 0 ? beta : 1) * C
 *
 * beta is applied on the first pass over k only; later passes accumulate.
 *
 * Threads.  All threads run the jc and pc loops.  The packed B block is
 * shared: the threads pack it together (`omp for` in pack_B), and the
 * barrier after that loop makes sure it is complete before anyone
 * reads it.  The work on it is then cut into items -- one MC block of rows
 * (ic) times one JW-wide strip of columns (jw) -- handed out a few at a time
 * (schedule(dynamic)).  Each thread packs the A block of its item into its
 * own buffer (skipping the copy when it already holds that block), so
 * there is no barrier inside the ic loop: two barriers per KC-deep pass in
 * all.  This matters on a busy machine: a thread whose core is taken by
 * another program simply does fewer items, instead of making every other
 * thread wait for it at a barrier many times per call.  Cutting columns as
 * well as rows gives every thread work also when M is small.  Each thread
 * times its waits at the barriers (ms_barrier_timed, ms_team_done), and the
 * library uses one thread for a while when they are long (see core.c). */
enum { JW = 8 * NR }; /* columns per work item (256 floats with AVX-512) */

static void gemm_blocked(T *C, const T *A, const T *B, const T *const *brows,
                         int64_t M, int64_t N,
                         int64_t K, int64_t rsa, int64_t csa, int64_t rsb,
                         int64_t csb, T alpha, T beta, T *ap_all, T *bp,
                         int nthreads, double *latest)
{
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
    {
        int me = 0;
#ifdef _OPENMP
        me = omp_get_thread_num();
#endif
        T *ap = ap_all + (int64_t)me * a_block_size(M, K); /* this thread's A block */
        double waited = 0;
        for (int64_t jc = 0; jc < N; jc += NC) {
            int64_t nc = min64(NC, N - jc);
            for (int64_t pc = 0; pc < K; pc += KC) {
                int64_t kc = min64(KC, K - pc);
                T beta_pass = (pc == 0) ? beta : (T)1;
                pack_B(bp, B, brows, rsb, csb, pc, jc, kc, nc);
                ms_barrier_timed(&waited); /* bp is complete */

                int64_t packed_ic = -1; /* which A block `ap` holds */
                int64_t n_ic = (M + MC - 1) / MC, n_jw = (nc + JW - 1) / JW;
#pragma omp for collapse(2) schedule(dynamic, 1) nowait
                for (int64_t bi = 0; bi < n_ic; bi++) {
                    for (int64_t bj = 0; bj < n_jw; bj++) {
                        int64_t ic = bi * MC, mc = min64(MC, M - ic);
                        if (ic != packed_ic) {
                            pack_A(ap, A, rsa, csa, ic, pc, mc, kc);
                            packed_ic = ic;
                        }
                        int64_t j_end = min64(bj * JW + JW, nc);
                        for (int64_t jr = bj * JW; jr < j_end; jr += NR)
                            for (int64_t ir = 0; ir < mc; ir += MR)
                                microkernel(kc, ap + ir * kc, bp + jr * kc, NULL, 0,
                                            C + (ic + ir) * N + jc + jr, N,
                                            min64(MR, mc - ir), min64(NR, nc - jr),
                                            alpha, beta_pass);
                    }
                }
                ms_barrier_timed(&waited); /* bp is refilled only after all are done */
            }
        }
        ms_team_done(latest, waited);
    }
}

/* When op(A) is a single MC block of rows (M <= MC: the 32 output channels of a
 * convolution, the 64 rows of an MLP batch), each packed B panel is used by only
 * a few micro-kernel calls.  Packing all of B first, as gemm_blocked does, writes
 * a block that has left the L1 cache by the time the micro-kernels read it.  Here
 * each thread packs one kc x NR panel into its own small buffer and runs the
 * micro-kernels on it at once, while it is in L1.  Every thread packs its own copy
 * of op(A) (at most MC x KC), so the only barrier is at the end of each kc pass.
 * The panels are handed out in runs of neighbouring ones, about four runs a thread
 * (schedule(dynamic, run)), so that a thread whose core is busy with another
 * program does fewer of them.  (One panel at a time, threads taking turns, made an
 * MLP's products 4-6% slower on 2 threads than two fixed halves -- 64 x 784 x 256
 * with B transposed: 158 against 150 us; runs of 2 to 4 panels are as fast as the
 * halves, 151 us.)
 * With B given by row addresses (gemm_brows: a convolution's padded image) a
 * whole panel is not packed at all: the micro-kernel reads its rows where they
 * lie.  They are runs of an image small enough for L1 (the panel of 32 outputs
 * of a 3x3 convolution touches 3 x 34 values per channel), so packing would
 * only copy them from L1 to L1; skipping it made the convolution's forward
 * 15% faster.  (A partial panel is still packed: reading NR values of its
 * last rows could run past the end of the image.) */
static void gemm_rowblock(T *C, const T *A, const T *B, const T *const *brows, int64_t M,
                          int64_t N, int64_t K, int64_t rsa, int64_t csa, int64_t rsb,
                          int64_t csb, T alpha, T beta, T *ap_all, T *bp_all, int nthreads,
                          double *latest)
{
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
    {
        int me = 0;
#ifdef _OPENMP
        me = omp_get_thread_num();
#endif
        T *ap = ap_all + (int64_t)me * a_block_size(M, K); /* this thread's op(A) */
        T *bp = bp_all + (int64_t)me * min64(KC, K) * NR;   /* and B panel */
        /* panels per run: about four runs a thread, at least two panels a run */
        const int64_t quarter = ((N + NR - 1) / NR + 4 * nthreads - 1) / (4 * nthreads);
        const int64_t run = quarter < 2 ? 2 : quarter;
        double waited = 0;
        for (int64_t pc = 0; pc < K; pc += KC) {
            int64_t kc = min64(KC, K - pc);
            T beta_pass = (pc == 0) ? beta : (T)1;
            pack_A(ap, A, rsa, csa, 0, pc, M, kc);
#pragma omp for schedule(dynamic, run) nowait
            for (int64_t jr = 0; jr < N; jr += NR) {
                int64_t n = min64(NR, N - jr);
                if (brows != NULL && n == NR) {
                    for (int64_t ir = 0; ir < M; ir += MR)
                        microkernel(kc, ap + ir * kc, NULL, brows + pc,
                                    brows_col(jr, rsb, csb), C + ir * N + jr, N,
                                    min64(MR, M - ir), n, alpha, beta_pass);
                    continue;
                }
                pack_B_panel(bp, B, brows, rsb, csb, pc, jr, kc, n);
                for (int64_t ir = 0; ir < M; ir += MR)
                    microkernel(kc, ap + ir * kc, bp, NULL, 0, C + ir * N + jr, N,
                                min64(MR, M - ir), n, alpha, beta_pass);
            }
            ms_barrier_timed(&waited); /* the pass is done */
        }
        ms_team_done(latest, waited);
    }
}

/* ------------------------------------------------------ the small path
 *
 * For tiny products (and as the fallback if the packing buffers cannot be
 * allocated).  Two loop orders, by the width of C:
 *   - N >= 8: the i-k-j loop.  Its innermost loop walks a row of op(B) and a
 *     row of C contiguously (when B is not transposed), so it vectorises.
 *   - N < 8 (a tiny MLP's 2 or 3 columns): rows that short do not vectorise,
 *     and i-k-j would load and store C at every k.  Instead each C value is a
 *     dot product over k (i-j-k), summed in 4 interleaved partial sums so that
 *     the additions do not each wait for the previous one.
 *
 *   C[i, j] = alpha * sum_k op(A)[i, k] * op(B)[k, j] + beta * C[i, j]
 *   (C not read when beta == 0)                                               */
static void gemm_small(T *C, const T *A, const T *B, int64_t M, int64_t N,
                       int64_t K, int64_t rsa, int64_t csa, int64_t rsb,
                       int64_t csb, T alpha, T beta)
{
    if (N < 8) {
        for (int64_t i = 0; i < M; i++) {
            const T *a = A + i * rsa;
            for (int64_t j = 0; j < N; j++) {
                const T *b = B + j * csb;
                T acc[4] = {0};
                int64_t k = 0;
                for (; k + 4 <= K; k += 4)
                    for (int u = 0; u < 4; u++)
                        acc[u] = MS_FMA(a[(k + u) * csa], b[(k + u) * rsb], acc[u]);
                for (; k < K; k++)
                    acc[0] = MS_FMA(a[k * csa], b[k * rsb], acc[0]);
                const T dot = (acc[0] + acc[1]) + (acc[2] + acc[3]);
                C[i * N + j] = (beta == (T)0) ? alpha * dot : alpha * dot + beta * C[i * N + j];
            }
        }
        return;
    }
    for (int64_t i = 0; i < M; i++) {
        T *c = C + i * N;
        for (int64_t j = 0; j < N; j++)
            c[j] = (beta == (T)0) ? (T)0 : beta * c[j];
        for (int64_t k = 0; k < K; k++) {
            T a = alpha * A[i * rsa + k * csa];
            const T *b = B + k * rsb;
            if (csb == 1) {
                for (int64_t j = 0; j < N; j++)
                    c[j] += a * b[j];
            } else {
                for (int64_t j = 0; j < N; j++)
                    c[j] += a * b[j * csb];
            }
        }
    }
}

/* C = beta * C, without reading C when beta == 0 (the K == 0 and alpha == 0
 * cases, where there is no product to add). */
static void scale_C(T *C, int64_t M, int64_t N, T beta)
{
    for (int64_t i = 0; i < M * N; i++)
        C[i] = (beta == (T)0) ? (T)0 : beta * C[i];
}

/* The blocked path with its packing buffers: one mc x kc block of A per thread
 * and one shared kc x nc block of B, no bigger than the product needs;
 * allocated per call and freed before returning.  (Sizing them to the product
 * keeps a small product's buffers under malloc's mmap threshold, 128 KiB: a
 * fresh mmap'ed block costs a system call and a page fault per 4 KiB, which is
 * more than the whole product for the narrow layers of an MLP.)  Returns -1,
 * having done nothing, when the buffers cannot be allocated. */
static int gemm_packed(T *C, const T *A, const T *B, const T *const *brows, int64_t M,
                       int64_t N, int64_t K, int64_t rsa, int64_t csa, int64_t rsb,
                       int64_t csb, T alpha, T beta)
{
    int nthreads = M * N * K >= MS_GEMM_PARALLEL ? ms_par_threads() : 1;
    int64_t kc = min64(KC, K), nc = min64(NC, N);
    const int rowblock = M <= MC; /* see gemm_rowblock */
    /* the pieces the threads share: B panels, or (MC rows x JW columns) items;
     * no more threads than pieces (a classifier's 10 x 32 product is one panel) */
    const int64_t pieces = rowblock ? (N + NR - 1) / NR
                                    : (M + MC - 1) / MC * ((nc + JW - 1) / JW);
    if (nthreads > pieces)
        nthreads = (int)pieces;
    size_t a_bytes = (size_t)(nthreads * a_block_size(M, K)) * sizeof(T);
    size_t b_bytes = (size_t)(rowblock ? nthreads * kc * NR
                                       : (nc + NR - 1) / NR * NR * kc) * sizeof(T);
    /* aligned_alloc wants a size that is a multiple of the alignment */
    T *ap = aligned_alloc(64, (a_bytes + 63) / 64 * 64);
    T *bp = aligned_alloc(64, (b_bytes + 63) / 64 * 64);
    int ok = ap != NULL && bp != NULL;
    double start = ms_clock(), latest = -1e300; /* see ms_team_done */
    if (ok && rowblock)
        gemm_rowblock(C, A, B, brows, M, N, K, rsa, csa, rsb, csb, alpha, beta, ap, bp,
                      nthreads, &latest);
    else if (ok)
        gemm_blocked(C, A, B, brows, M, N, K, rsa, csa, rsb, csb, alpha, beta, ap, bp,
                     nthreads, &latest);
    if (ok && nthreads > 1 && pieces >= 4 * nthreads) { /* see core.c */
        double end = ms_clock();
        ms_par_note(end - start, end + latest); /* the longest wait of a thread */
    }
    free(ap);
    free(bp);
    return ok ? 0 : -1;
}

/* ---------------------------------------------------------- public API */

/* Narrow C (N < NR / 2 columns: a classifier's last layer, N = 10): the
 * micro-kernel always computes NR = 32 columns, so more than 2/3 of its work would
 * be padding.  Compute the transposed product instead,
 *     C^T (N, M) = op(B)^T (N, K) @ op(A)^T (K, M),
 * whose N columns are now rows (MR = 8 to a panel), and transpose it into C.
 * (op(B)^T is B read with the other transpose flag; likewise op(A)^T.)  Returns -1,
 * having done nothing, when the buffer for C^T cannot be allocated. */
static int narrow(T *C, const T *A, const T *B, int64_t M, int64_t N, int64_t K,
                  int transA, int transB, T alpha, T beta)
{
    T *ct = malloc((size_t)(N * M) * sizeof(T));
    if (ct == NULL)
        return -1;
    FN(gemm)(ct, B, A, N, M, K, !transB, !transA, alpha, (T)0);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++)
            C[i * N + j] = (beta == (T)0) ? ct[j * M + i] : ct[j * M + i] + beta * C[i * N + j];
    free(ct);
    return 0;
}

void FN(gemm)(T *C, const T *A, const T *B, int64_t M, int64_t N, int64_t K,
              int transA, int transB, T alpha, T beta)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == (T)0) {
        scale_C(C, M, N, beta);
        return;
    }
    /* op(A)[i, p] = A[i * rsa + p * csa],  op(B)[p, j] = B[p * rsb + j * csb] */
    int64_t rsa = transA ? 1 : K, csa = transA ? M : 1;
    int64_t rsb = transB ? 1 : N, csb = transB ? K : 1;

    if (M * N * K < MS_GEMM_SMALL) {
        gemm_small(C, A, B, M, N, K, rsa, csa, rsb, csb, alpha, beta);
        return;
    }
    if (2 * N < NR && M > N && narrow(C, A, B, M, N, K, transA, transB, alpha, beta) == 0)
        return;

    if (gemm_packed(C, A, B, NULL, M, N, K, rsa, csa, rsb, csb, alpha, beta) != 0)
        gemm_small(C, A, B, M, N, K, rsa, csa, rsb, csb, alpha, beta);
}

void FN(gemm_batched)(T *C, const T *A, const T *B, int64_t batch, int64_t M,
                      int64_t N, int64_t K, int transA, int transB, T alpha,
                      T beta, int64_t strideA, int64_t strideB,
                      int64_t strideC)
{
    /* Each product is threaded inside gemm when it is large enough; a batch
     * of small products is run one after another. */
    for (int64_t b = 0; b < batch; b++)
        FN(gemm)(C + b * strideC, A + b * strideA, B + b * strideB, M, N, K,
                 transA, transB, alpha, beta);
}

/* The peak: what the micro-kernel would do if its operands cost nothing to
 * load.  The same MR x NR tile of accumulators, updated by MS_FMA from MR + NR
 * values that stay in registers; every step is MR * NR / VL independent vector
 * FMAs, enough to keep both FMA units busy (see the block sizes).  Nothing is
 * read from memory, so the rate it reaches is the cores' own limit, against
 * which the benchmarks measure the GEMM (python -m minisinga.bench).  The iters
 * steps are shared out between the threads (ms_par_threads) in chunks, a few at
 * a time, as the GEMM's work items are, so both see the machine alike. */
int64_t FN(gemm_peak)(T *sink, int64_t iters)
{
    enum { CHUNK = 4096 }; /* steps per chunk */
    T total = 0;
#pragma omp parallel num_threads(ms_par_threads()) reduction(+ : total)
    {
        T acc[MR * NR] = {0}, a[MR], b[NR];
        for (int i = 0; i < MR; i++)
            a[i] = (T)0.5 + (T)i / (T)64;
        for (int j = 0; j < NR; j++)
            b[j] = (T)1e-6 * (T)(j + 1);
#pragma omp for schedule(dynamic, 1)
        for (int64_t c = 0; c < iters; c += CHUNK)
            for (int64_t p = c; p < c + CHUNK && p < iters; p++)
                for (int i = 0; i < MR; i++)
                    for (int j = 0; j < NR; j++)
                        acc[i * NR + j] = MS_FMA(a[i], b[j], acc[i * NR + j]);
        for (int k = 0; k < MR * NR; k++)
            total += acc[k];
    }
    *sink = total;
    return 2 * (int64_t)MR * NR * iters;
}

void FN(gemm_tile)(int64_t *mr, int64_t *nr)
{
    *mr = MR;
    *nr = NR;
}

/* gemm_brows and gemm_brows_segments: B[p, j] = brows[p][brows_col(j, seg, gap)]. */
static void brows_product(T *C, const T *A, const T *const *brows, int64_t M, int64_t N,
                          int64_t K, T beta, int64_t seg, int64_t gap)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {
        scale_C(C, M, N, beta);
        return;
    }
    if (gemm_packed(C, A, NULL, brows, M, N, K, K, 1, seg, gap, (T)1, beta) == 0)
        return;
    /* no buffers: the i-k-j loop */
    for (int64_t i = 0; i < M; i++) {
        T *c = C + i * N;
        for (int64_t j = 0; j < N; j++)
            c[j] = (beta == (T)0) ? (T)0 : beta * c[j];
        for (int64_t p = 0; p < K; p++) {
            const T a = A[i * K + p], *b = brows[p];
            for (int64_t j = 0; j < N; j++)
                c[j] += a * b[brows_col(j, seg, gap)];
        }
    }
}

/* C (M, N) = A (M, K) @ B (K, N) + beta * C, with B given by the addresses of its
 * rows: B[p, j] = brows[p][j].  The rows need not be evenly spaced, nor apart: this
 * is what lets convolution skip im2col (conv.c), since each row of the im2col
 * matrix of a stride-1 convolution is a run of the padded input, starting at a
 * shifted address.  The packing (or, for a single block of rows, the micro-kernel
 * itself) reads the rows where they lie.  C is not read when beta == 0.  (Not part
 * of the Python interface: declared in ms_gemm.h for the kernel files.) */
void FN(gemm_brows)(T *C, const T *A, const T *const *brows, int64_t M, int64_t N,
                    int64_t K, T beta)
{
    brows_product(C, A, brows, M, N, K, beta, 0, 0);
}

/* The same with B's rows made of N / seg segments of seg columns each, segment s
 * starting `gap` values after segment s - 1:
 *     B[p, s * seg + j] = brows[p][s * gap + j]   (j < seg).
 * It is N / seg products A @ B_s side by side, one per segment, with A packed once
 * for all of them when seg is a multiple of NR: the convolution's weight gradient
 * has one per kernel row, all with the same A (conv_fast.c).  Otherwise a panel
 * would straddle two segments, and each segment is a product of its own, through
 * a buffer for its columns of C.  N must be a multiple of seg.  Returns 0, or -1
 * (having done nothing) when the buffers cannot be allocated. */
int FN(gemm_brows_segments)(T *C, const T *A, const T *const *brows, int64_t M, int64_t N,
                            int64_t K, T beta, int64_t seg, int64_t gap)
{
    if (seg % NR == 0) {
        brows_product(C, A, brows, M, N, K, beta, seg, gap);
        return 0;
    }
    const T **shifted = malloc((size_t)(K + 1) * sizeof(T *));
    T *cs = malloc((size_t)(M * seg + 1) * sizeof(T));
    const int ok = shifted != NULL && cs != NULL;
    for (int64_t s0 = 0; ok && s0 < N; s0 += seg) {
        for (int64_t p = 0; p < K; p++)
            shifted[p] = brows[p] + s0 / seg * gap;
        for (int64_t i = 0; beta != (T)0 && i < M; i++)
            memcpy(cs + i * seg, C + i * N + s0, (size_t)seg * sizeof(T));
        brows_product(cs, A, shifted, M, seg, K, beta, 0, 0);
        for (int64_t i = 0; i < M; i++)
            memcpy(C + i * N + s0, cs + i * seg, (size_t)seg * sizeof(T));
    }
    free(shifted);
    free(cs);
    return ok ? 0 : -1;
}
