"""Eager-mode overhead of one tiny operation, side by side with PyTorch and a bare C call.

    python bench/bench_overhead.py [--number 20000] [--repeat 7]

On 2x3 float32 tensors (so the arithmetic itself costs nanoseconds and what is
timed is the machinery around it) it measures, in microseconds per iteration:

* ``autograd.add`` forward only, while the graph is recorded (``autograd.training
  = True``): the Operation, its output Tensor and CTensor, one kernel launch;
* forward + backward through the engine: the same, then ``autograd.backward(y, dy)``
  with a given ``dy`` down to the two leaves (one stores its gradient);
* the same two in PyTorch, when it is installed (``y = a + b`` and
  ``y.backward(dy)``, with ``a.grad`` reset each time);
* the pieces: allocating a CTensor (``CTensor._new``, the device's books
  included), looking up a kernel (``_lib.kernel``), and one bare cffi call of
  the C kernel ``add_forward_f32`` on existing buffers.

Each number is the best of ``--repeat`` rounds of ``--number`` iterations (the
minimum is the least disturbed by other work on the machine).  One OpenMP thread
and one torch thread.  docs/performance/benchmarks.md ("Eager overhead") has
the numbers measured on the development machine.
"""
from __future__ import annotations

import argparse
import timeit

import numpy as np

from minisinga import autograd, device, dtypes
from minisinga._lib import kernel, lib
from minisinga.ctensor import CTensor
from minisinga.tensor import Tensor


def best_us(fn, number: int, repeat: int) -> float:
    """The fastest of ``repeat`` rounds of ``number`` calls of ``fn``, in µs per call."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def minisinga_times(number: int, repeat: int) -> dict[str, float]:
    """µs per iteration of each minisinga measurement."""
    device.set_num_threads(1)
    rng = np.random.default_rng(0)
    a = Tensor(data=rng.random((2, 3), np.float32), requires_grad=True, stores_grad=True)
    b = Tensor(data=rng.random((2, 3), np.float32), requires_grad=True)
    dy = Tensor(data=np.ones((2, 3), np.float32), requires_grad=False)
    was_training = autograd.training
    autograd.training = True
    try:
        def forward():
            autograd.add(a, b)

        def forward_backward():
            y = autograd.add(a, b)
            for _ in autograd.backward(y, dy):
                pass

        out = {"add forward": best_us(forward, number, repeat),
               "add forward + backward": best_us(forward_backward, number, repeat)}
    finally:
        autograd.training = was_training

    dev = device.get_default_device()
    out["CTensor._new (alloc + free)"] = best_us(
        lambda: CTensor._new((2, 3), dtypes.float32, dev), number, repeat)
    out["_lib.kernel lookup"] = best_us(lambda: kernel("add_forward", a.data), number, repeat)
    y = CTensor._new((2, 3), dtypes.float32, dev)
    fn, pa, pb = lib.add_forward_f32, a.data.ptr, b.data.ptr
    out["bare cffi call add_forward_f32"] = best_us(lambda: fn(y.ptr, pa, pb, 6), number, repeat)
    return out


def torch_times(number: int, repeat: int) -> dict[str, float] | None:
    """µs per iteration of the same two measurements in PyTorch, or None without it."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    a = torch.rand(2, 3, requires_grad=True)
    b = torch.rand(2, 3, requires_grad=True)
    dy = torch.ones(2, 3)

    def forward():
        a + b

    def forward_backward():
        a.grad = None
        b.grad = None
        (a + b).backward(dy)

    return {"add forward": best_us(forward, number, repeat),
            "add forward + backward": best_us(forward_backward, number, repeat)}


def main(argv: list[str] | None = None) -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="iterations per round")
    parser.add_argument("--repeat", type=int, default=7, help="rounds (the best is shown)")
    args = parser.parse_args(argv)
    ms = minisinga_times(args.number, args.repeat)
    th = torch_times(args.number, args.repeat)
    print(f"Eager overhead, 2x3 float32, 1 thread, best of {args.repeat} x {args.number} "
          "(µs per iteration)")
    print(f"{'measurement':34s} {'minisinga':>10s} {'torch':>10s} {'ratio':>7s}")
    for name, value in ms.items():
        other = th.get(name) if th else None
        torch_col = f"{other:10.2f}" if other is not None else f"{'-':>10s}"
        ratio = f"{value / other:7.1f}" if other else f"{'':>7s}"
        print(f"{name:34s} {value:10.2f} {torch_col} {ratio}")
    if th is None:
        print("(PyTorch is not installed: no torch column)")


if __name__ == "__main__":
    main()
