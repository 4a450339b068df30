"""What zero-filling ``Tensor(shape)`` costs a training step: one run, a ratio.

    python bench/bench_zero_fill.py [--steps 30] [--repeat 7]

``Tensor(shape)`` without data is zero-filled (SINGA's CPU allocator gives
zeros); the operations' outputs, which a kernel overwrites entirely, are made
by ``CTensor._new`` and are not.  So the fill should cost a training step
nothing.  This measures it in one process: training steps of a 784 -> 256 -> 10
MLP (batch 64, SGD with momentum) with the fill as it is, and with the fill of
new tensors turned into a no-op (``tensor.backend`` swapped for a copy whose
``fill(t, 0)`` does nothing), the two interleaved, best of ``--repeat``.  It
prints both times, their ratio, and how many tensors a step zero-fills.
"""
from __future__ import annotations

import argparse
import time
import types

import numpy as np

from minisinga import autograd, backend, device, layer, model, opt, tensor
from minisinga.tensor import Tensor


class MLP(model.Model):
    def __init__(self):
        super().__init__()
        self.l1 = layer.Linear(256)
        self.relu = layer.ReLU()
        self.l2 = layer.Linear(10)

    def forward(self, x):
        return self.l2(self.relu(self.l1(x)))

    def train_one_batch(self, x, y):
        loss = autograd.softmax_cross_entropy(self.forward(x), y)
        self.optimizer(loss)
        return loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    device.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = Tensor(data=rng.standard_normal((64, 784)).astype(np.float32))
    y = Tensor(data=rng.integers(0, 10, 64).astype(np.int32))
    m = MLP()
    m.optimizer = opt.SGD(lr=0.01, momentum=0.9)
    m.compile([x], is_train=True, use_graph=False)
    m.train()

    fills = [0]
    no_fill = types.SimpleNamespace(**vars(backend))

    def fill_skipping_zero(t, value):
        if value == 0:
            fills[0] += 1
            return t
        return backend.fill(t, value)
    no_fill.fill = fill_skipping_zero

    def steps() -> float:
        start = time.perf_counter()
        for _ in range(args.steps):
            m.train_one_batch(x, y)
        return (time.perf_counter() - start) / args.steps * 1e3

    steps()  # warm up: parameters, optimizer buffers
    with_fill, without_fill = [], []
    for _ in range(args.repeat):
        with_fill.append(steps())
        tensor.backend = no_fill
        try:
            without_fill.append(steps())
        finally:
            tensor.backend = backend
    fills_per_step = fills[0] / (args.steps * args.repeat)
    a, b = min(with_fill), min(without_fill)
    print(f"training step, new tensors zero-filled:   {a:.3f} ms")
    print(f"training step, zero-fill turned off:      {b:.3f} ms")
    print(f"ratio (filled / not filled):              {a / b:.3f}")
    print(f"zero-fills (and set_value(0)) per step:   {fills_per_step:.1f}")


if __name__ == "__main__":
    main()
