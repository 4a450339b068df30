"""Graph mode vs eager mode on the user's MLP example: time per step and peak memory.

    python bench/bench_graph.py [--steps 30] [--threads N]

For each configuration (MNIST 784-100-10 MLP at batch 64, and a small 784-32-10
one at batch 16, where Python overhead dominates) and each mode (eager, graph
replayed in recorded order, graph replayed in dependency order) it trains on the
shipped MNIST subset and reports:

* time per step: the median over ``--steps`` steps after two warm-up steps (the
  first graph step records, the second is the first replay);
* peak memory: the most bytes the CPU device's allocator held during those steps
  (``device.memory_stats()['peak_bytes']`` after ``reset_peak_memory()``), minus
  what it held before the model was built, so the model, its optimizer state, the
  placeholders and the step's intermediates all count.

It also checks that every mode ends with the same parameters.
"""
from __future__ import annotations

import argparse
import gc
import statistics
import time

import numpy as np

from minisinga import device, layer, model, opt, tensor
from minisinga.datasets import load_mnist


class MLP(model.Model):
    def __init__(self, perceptron_size=100, num_classes=10):
        super().__init__()
        self.relu = layer.ReLU()
        self.linear1 = layer.Linear(perceptron_size)
        self.linear2 = layer.Linear(num_classes)
        self.softmax_cross_entropy = layer.SoftMaxCrossEntropy()

    def forward(self, inputs):
        return self.linear2(self.relu(self.linear1(inputs)))

    def train_one_batch(self, x, y):
        out = self.forward(x)
        loss = self.softmax_cross_entropy(out, y)
        self.optimizer(loss)
        return out, loss


def run(mode: str, hidden: int, batch: int, steps: int, data) -> tuple[float, int, dict]:
    x_train, y_train = data
    gc.collect()
    dev = device.get_default_device()
    base = dev.memory_stats()["bytes_in_use"]
    dev.set_rand_seed(0)
    m = MLP(hidden)
    m.optimizer = opt.SGD(lr=0.005, momentum=0.9, weight_decay=1e-5)
    tx = tensor.Tensor((batch, 1, 28, 28), dev, tensor.float32)
    ty = tensor.Tensor((batch,), dev, tensor.int32)
    m.compile([tx], is_train=True, use_graph=mode != "eager", sequential=mode == "graph-seq")
    times = []
    for b in range(steps + 2):
        if b == 2:
            dev.reset_peak_memory()
        tx.copy_from_numpy(x_train[b * batch:(b + 1) * batch])
        ty.copy_from_numpy(y_train[b * batch:(b + 1) * batch])
        t0 = time.perf_counter()
        out, loss = m(tx, ty)
        times.append(time.perf_counter() - t0)
    peak = dev.memory_stats()["peak_bytes"] - base
    params = {k: v.to_numpy() for k, v in m.get_params().items()}
    return statistics.median(times[2:]), peak, params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=0, help="OpenMP threads (0: default)")
    args = ap.parse_args()
    if args.threads:
        device.set_num_threads(args.threads)
    x_train, y_train, _, _ = load_mnist()
    print(f"OpenMP threads: {device.get_num_threads()}, steps timed: {args.steps}")
    for hidden, batch in ((100, 64), (32, 16)):
        print(f"\nMLP 784-{hidden}-10, batch {batch}")
        print(f"{'mode':<12}{'ms/step':>10}{'peak KiB':>12}")
        ref = None
        for mode in ("eager", "graph-seq", "graph-dep"):
            t, peak, params = run(mode, hidden, batch, args.steps, (x_train, y_train))
            if ref is None:
                ref = params
            same = all(np.allclose(params[k], ref[k], rtol=1e-6, atol=1e-7) for k in ref)
            print(f"{mode:<12}{t * 1e3:>10.3f}{peak / 1024:>12.1f}"
                  f"{'' if same else '   PARAMETERS DIFFER FROM EAGER'}")


if __name__ == "__main__":
    main()
