"""Checks of the speed chapters: the matmul ladder and the CUDA backend."""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from ._c import load_c
from ._registry import ExerciseFailed, exercise
from ._util import equal

LADDER = "ch18_matmul_ladder/matmul.c"
CUDA = "ch19_cuda.py"

MATMUL_CDEF = "void matmul(int n, const float *A, const float *B, float *C);"

#: dev/gemm_ladder/step1_naive.c, the baseline the speed exercise is measured against.
NAIVE = """
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
"""


def _product(ffi, lib, n, rng):
    A = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    B = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    C = np.full((n, n), np.nan, dtype=np.float32)    # C's old contents must not matter
    lib.matmul(n, ffi.from_buffer("float[]", A), ffi.from_buffer("float[]", B),
               ffi.from_buffer("float[]", C))
    return A, B, C


def _check_product(ffi, lib, sizes):
    rng = np.random.default_rng(40)
    for n in sizes:
        A, B, C = _product(ffi, lib, n, rng)
        want = A.astype(np.float64) @ B.astype(np.float64)
        bound = 1e-5 * (np.abs(A).astype(np.float64) @ np.abs(B)) + 1e-6
        bad = ~(np.abs(C - want) <= bound)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ExerciseFailed(f"matmul(n={n}): C[{i}, {j}] = {float(C[i, j])!r}, expected "
                                 f"{float(want[i, j])!r} ({int(bad.sum())} of {n * n} wrong)")


@exercise("ladder.1", "performance/matmul-ladder.md", "A correct matmul in C, every size",
          LADDER, hint="C = A @ B for n x n row-major floats; set every C[i, j] (the check "
                       "fills C with NaN first); blocked loops need the edge when n is not "
                       "a multiple of the block")
def _(ws):
    ffi, lib = load_c(ws.text(LADDER), MATMUL_CDEF)
    _check_product(ffi, lib, (1, 2, 7, 33, 64, 100))


def _best_time(ffi, lib, n, A, B, C, repeat):
    pa, pb, pc = (ffi.from_buffer("float[]", a) for a in (A, B, C))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        lib.matmul(n, pa, pb, pc)
        best = min(best, time.perf_counter() - start)
    return best


#: The size the speed exercise is timed at, and the speed-up it asks for.
SPEED_N = 256
SPEEDUP = 5.0


@exercise("ladder.3", "performance/matmul-ladder.md", "Make the naive matmul 5x faster",
          LADDER, hint="step 2 of the ladder (loop order i-k-j, so the inner loop walks "
                       "rows of B and C and vectorises) is most of it; blocking and a "
                       "register-blocked micro-kernel (steps 3-5) give the rest")
def _(ws):
    ffi, lib = load_c(ws.text(LADDER), MATMUL_CDEF)
    _check_product(ffi, lib, (7, 64))
    nffi, naive = load_c(NAIVE, MATMUL_CDEF)
    rng = np.random.default_rng(41)
    n = SPEED_N
    A = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    B = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    C = np.zeros((n, n), dtype=np.float32)
    # Best of several runs, alternating, so that a busy moment hits both alike.
    t_naive = t_yours = float("inf")
    for _ in range(3):
        t_naive = min(t_naive, _best_time(nffi, naive, n, A, B, C, 2))
        t_yours = min(t_yours, _best_time(ffi, lib, n, A, B, C, 4))
    ratio = t_naive / t_yours
    if ratio < SPEEDUP:
        raise ExerciseFailed(f"n = {n}: the naive loop takes {t_naive * 1e3:.1f} ms, yours "
                             f"{t_yours * 1e3:.1f} ms: {ratio:.1f}x faster, the goal is "
                             f"{SPEEDUP:.0f}x (both compiled with -O3 -march=native, "
                             "best of several runs)")


PACK = "ch18_matmul_ladder/pack.c"
PACK_CDEF = "void pack_A(float *ap, const float *A, int n, int i0, int p0, int mc, int kc, int mr);"


@exercise("ladder.2", "performance/matmul-ladder.md", "Pack A into MR-tall panels", PACK,
          hint="panel r (r = 0, MR, 2 MR, ...) holds rows r..r+MR-1 of the block k-major: "
               "ap[r * kc + p * MR + i] = A[(i0 + r + i) * n + p0 + p], and 0 where r + i >= mc "
               "(the ragged last panel is padded with zeros)")
def _(ws):
    ffi, lib = load_c(ws.text(PACK), PACK_CDEF)
    rng = np.random.default_rng(42)
    n = 20
    A = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    for i0, p0, mc, kc, mr in [(0, 0, 8, 5, 4), (3, 2, 10, 7, 4), (5, 11, 9, 9, 6), (0, 0, 1, 1, 3)]:
        panels = -(-mc // mr)
        ap = np.full(panels * mr * kc, np.nan, dtype=np.float32)
        lib.pack_A(ffi.from_buffer("float[]", ap), ffi.from_buffer("float[]", A), n, i0, p0,
                   mc, kc, mr)
        want = np.zeros((panels, kc, mr), dtype=np.float32)       # [panel, p, i]
        for r in range(panels):
            for i in range(mr):
                if r * mr + i < mc:
                    want[r, :, i] = A[i0 + r * mr + i, p0:p0 + kc]
        bad = ~(ap == want.reshape(-1))
        if bad.any():
            k = int(np.argmax(bad))
            r, p, i = np.unravel_index(k, want.shape)
            raise ExerciseFailed(
                f"pack_A(n={n}, i0={i0}, p0={p0}, mc={mc}, kc={kc}, MR={mr}): ap[{k}] (panel "
                f"{r}, p = {p}, i = {i}) is {float(ap[k])!r}, expected {float(want.flat[k])!r} "
                f"({int(bad.sum())} of {ap.size} wrong; ap was NaN before the call)")


# ----------------------------------------------------------------------------- cuda
def _launch_constants() -> tuple[int, int]:
    """MS_THREADS and MS_MAX_BLOCKS, read from minisinga/cuda/ms_cuda.h."""
    header = (Path(__file__).resolve().parent.parent / "cuda" / "ms_cuda.h").read_text()
    threads = int(re.search(r"#define MS_THREADS (\d+)", header).group(1))
    blocks = int(re.search(r"#define MS_MAX_BLOCKS (\d+)", header).group(1))
    return threads, blocks


@exercise("cuda.1", "cuda.md", "The grid-stride loop: which elements a thread handles",
          CUDA, ["grid_stride_indices"],
          hint="thread i = block * block_dim + thread handles i, i + G, i + 2G, ... below n, "
               "with G = block_dim * grid_dim the number of threads in the grid; "
               "neighbouring threads take neighbouring elements (coalesced), never a chunk each")
def _(ws):
    fn = ws.get(CUDA, "grid_stride_indices")
    for n, block_dim, grid_dim in [(10, 4, 1), (30, 4, 3), (5, 8, 2), (100, 32, 2)]:
        seen = []
        for b in range(grid_dim):
            for t in range(block_dim):
                got = [int(i) for i in fn(b, t, block_dim, grid_dim, n)]
                start = b * block_dim + t
                equal(got, list(range(start, n, block_dim * grid_dim)),
                      f"grid_stride_indices(block={b}, thread={t}, block_dim={block_dim}, "
                      f"grid_dim={grid_dim}, n={n})")
                seen += got
        equal(sorted(seen), list(range(n)), "every element once")


@exercise("cuda.2", "cuda.md", "How many blocks to launch", CUDA, ["grid_size"],
          hint="ceil(n / threads) blocks, rounded UP (n // threads leaves the tail out), "
               "capped at max_blocks (the grid-stride loop covers the rest), and 0 for n = 0")
def _(ws):
    fn = ws.get(CUDA, "grid_size")
    threads, cap = _launch_constants()
    for n in (0, 1, threads - 1, threads, threads + 1, 1000, threads * cap, threads * cap + 1,
              10**9):
        want = 0 if n == 0 else min(-(-n // threads), cap)
        equal(int(fn(n, threads, cap)), want,
              f"grid_size(n={n}, threads={threads}, max_blocks={cap})")


def _row_threads_reference():
    """ms_row_threads from minisinga/cuda/ms_cuda.h, compiled as C."""
    header = (Path(__file__).resolve().parent.parent / "cuda" / "ms_cuda.h").read_text()
    body = re.search(r"static inline int ms_row_threads\(int64_t len\)\n\{.*?\n\}\n",
                     header, re.S).group(0)
    return load_c(body.replace("static inline ", ""), "int ms_row_threads(int64_t len);")[1]


@exercise("cuda.3", "cuda.md", "Threads per block for a row reduction", CUDA, ["row_threads"],
          hint="one block per row, a whole number of warps: the smallest power of two that "
               "is >= the row length, but at least 32 (one warp) and at most 256")
def _(ws):
    fn = ws.get(CUDA, "row_threads")
    ref = _row_threads_reference()
    for length in (0, 1, 31, 32, 33, 64, 65, 100, 128, 129, 255, 256, 257, 10**6):
        equal(int(fn(length)), int(ref.ms_row_threads(length)), f"row_threads({length})")
