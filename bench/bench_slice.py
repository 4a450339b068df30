"""What a slice, a pad and a gather cost in eager mode (CPU).

    python bench/bench_slice.py [--repeat 7] [--calls 50] [--threads N]

Issue 18 measured a slice of about 780,000 output elements at 3.9 ms, of which
0.42 ms went to building its int32 index map on the host with NumPy (a 3.1 MB
map copied to the device).  This times the same size: x (1000, 1000) float32,
``slice(x, [0, 100], [1000, 880])`` (780,000 elements out), a constant pad of
the same x by 8 on every side, and a gather of 780 of its columns; forward only,
and forward + backward of the slice.  Each figure is the best of ``--repeat``
runs of ``--calls`` calls, in milliseconds per call.  ``--threads 1`` gives
steadier numbers on a busy machine (the kernels' OpenMP threads then wait for
no one).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from minisinga import autograd, device
from minisinga.ops import indexing
from minisinga.tensor import Tensor


def best_ms(fn, calls: int, repeat: int) -> float:
    """The best of ``repeat`` runs of ``calls`` calls of fn, in ms per call."""
    fn()  # warm up (allocator, first-call lookups)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e3


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--threads", type=int, default=0, help="OpenMP threads (0: as set)")
    args = parser.parse_args(argv)
    if args.threads:
        device.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x = Tensor(data=rng.standard_normal((1000, 1000)).astype(np.float32))
    xg = Tensor(data=x.to_numpy(), requires_grad=True, stores_grad=True)
    cols = list(range(0, 1000, 1000 // 780))[:780]

    def slice_back():
        y = indexing.slice(xg, [0, 100], [1000, 880])
        for _ in autograd.backward(y, 1.0):
            pass

    autograd.training = False
    rows = [("slice (1000, 1000) -> (1000, 780)",
             lambda: indexing.slice(x, [0, 100], [1000, 880])),
            ("pad (1000, 1000) by 8, constant", lambda: indexing.pad(x, "constant", [8] * 4)),
            ("gather 780 columns of (1000, 1000)", lambda: indexing.gather(x, 1, cols))]
    for name, fn in rows:
        print(f"{name:40s} {best_ms(fn, args.calls, args.repeat):8.3f} ms")
    autograd.training = True
    print(f"{'slice forward + backward':40s} "
          f"{best_ms(slice_back, args.calls // 5 or 1, args.repeat):8.3f} ms")


if __name__ == "__main__":
    main()
