"""Time minisinga's C gemm against numpy.matmul (and torch.matmul, if installed).

    python bench/bench_gemm.py                     # f32, n = 1024 2048, 1 and 2 threads
    python bench/bench_gemm.py --sizes 512 1024 --threads 1 --dtype float64

Each thread count runs in a fresh child process, because OpenBLAS (inside
NumPy) reads its thread count when it is loaded.  The child gets
OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = n, and the
variables OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed (set to values
that do not match the CPU, they slow OpenBLAS down).

Within a child the libraries are timed in turns, a few runs of one, then a
few of the next (numpy, minisinga, torch, numpy, ...), so that a burst of load
from another process hits them all alike.  Not one run each in turn: after a
call, OpenBLAS's and OpenMP's idle threads spin for a while and would steal
the cores from the library timed next; a short pause before each turn lets
them go to sleep.  The table shows the median of all timed runs.
GFLOP/s counts 2 * n^3 flops per product.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

DROP_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _minisinga_matmul(dtype: str):
    """A function (a, b, c) -> None that computes c = a @ b with minisinga's gemm."""
    from minisinga._lib import ffi, lib

    ctype, fn = {"float32": ("float *", lib.gemm_f32), "float64": ("double *", lib.gemm_f64)}[dtype]

    def run(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
        m, k = a.shape
        n = b.shape[1]
        fn(ffi.cast(ctype, ffi.from_buffer(c)), ffi.cast(ctype, ffi.from_buffer(a)),
           ffi.cast(ctype, ffi.from_buffer(b)), m, n, k, 0, 0, 1.0, 0.0)

    return run


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def child(sizes: list[int], dtype: str, warmup: int, repeat: int, rounds: int) -> list[dict]:
    """Time every library at every size in this process; one dict per (size, library)."""
    from minisinga import device

    threads = int(os.environ["OMP_NUM_THREADS"])
    device.set_num_threads(threads)
    libs = {"numpy": None, "minisinga": _minisinga_matmul(dtype)}
    try:
        import torch

        torch.set_num_threads(threads)
        libs["torch"] = torch
    except ImportError:
        pass

    rows = []
    rng = np.random.default_rng(0)
    for n in sizes:
        a = rng.standard_normal((n, n)).astype(dtype)
        b = rng.standard_normal((n, n)).astype(dtype)
        c = np.empty((n, n), dtype)
        calls = {"numpy": lambda a=a, b=b, c=c: np.matmul(a, b, out=c),
                 "minisinga": lambda a=a, b=b, c=c: libs["minisinga"](a, b, c)}
        if "torch" in libs:
            ta, tb, tc = (libs["torch"].from_numpy(x) for x in (a, b, c))
            calls["torch"] = lambda ta=ta, tb=tb, tc=tc: libs["torch"].matmul(ta, tb, out=tc)
        # check once that minisinga computes the product
        libs["minisinga"](a, b, c)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        err = float(np.abs(c - ref).max() / np.abs(ref).max())
        times = {name: [] for name in calls}
        for _ in range(rounds):
            for name, fn in calls.items():
                time.sleep(0.2)  # NOTE: let the other library's spinning threads sleep
                for _ in range(warmup):
                    fn()
                for _ in range(repeat):
                    times[name].append(_time(fn))
        for name, ts in times.items():
            med = statistics.median(ts)
            rows.append({"n": n, "threads": threads, "lib": name, "seconds": med,
                         "gflops": 2 * n**3 / med / 1e9, "best_gflops": 2 * n**3 / min(ts) / 1e9,
                         "rel_err": err if name == "minisinga" else None})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs at the start of each turn")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per turn")
    p.add_argument("--rounds", type=int, default=3, help="turns per library")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.child:
        print(json.dumps(child(args.sizes, args.dtype, args.warmup, args.repeat, args.rounds)))
        return

    rows = []
    for t in args.threads:
        env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
        env.update(OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
        cmd = [sys.executable, __file__, "--child", "--dtype", args.dtype,
               "--warmup", str(args.warmup), "--repeat", str(args.repeat),
               "--rounds", str(args.rounds), "--sizes",
               *map(str, args.sizes)]
        out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        rows += json.loads(out.strip().splitlines()[-1])

    runs = args.repeat * args.rounds
    print(f"gemm {args.dtype}, C = A @ B with square n x n operands; median of {runs} runs "
          f"(best in brackets), GFLOP/s = 2 n^3 / time")
    header = f"{'n':>5} {'thr':>3} {'numpy':>15} {'minisinga':>15} {'ratio':>6}"
    has_torch = any(r["lib"] == "torch" for r in rows)
    if has_torch:
        header += f" {'torch':>15} {'ratio':>6}"
    print(header + f" {'max rel err':>12}")
    for t in args.threads:
        for n in args.sizes:
            got = {r["lib"]: r for r in rows if r["n"] == n and r["threads"] == t}

            def cell(name, got=got):
                return f"{got[name]['gflops']:7.1f} ({got[name]['best_gflops']:5.1f})"

            line = f"{n:>5} {t:>3} {cell('numpy')} {cell('minisinga')} "
            line += f"{got['minisinga']['gflops'] / got['numpy']['gflops']:6.2f}"
            if has_torch:
                line += f" {cell('torch')} {got['minisinga']['gflops'] / got['torch']['gflops']:6.2f}"
            print(line + f" {got['minisinga']['rel_err']:12.1e}")
    print("ratio = minisinga / numpy (or / torch), from the medians")


if __name__ == "__main__":
    main()
