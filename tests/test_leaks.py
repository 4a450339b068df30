"""No memory leaks in long loops: training, tensor churn, autograd graphs.

Two measurements per loop, after a warm-up that lets allocator pools and
caches reach their steady size:

* the number of live CTensor objects (exact: a leaked graph or a cycle that
  keeps tensors alive shows up as a count that grows with the steps);
* the process's resident set size (RSS), with a stated tolerance for
  allocator noise (glibc keeps freed blocks for reuse).  These tests are
  marked ``rss`` and skipped under the ASan build (tools/sanitize.sh), whose
  quarantine keeps freed memory resident; LeakSanitizer covers that run.
"""
from __future__ import annotations

import gc
import os

import numpy as np
import pytest

from minisinga import autograd, layer, opt, tensor
from minisinga.ctensor import CTensor
from minisinga.tensor import Tensor

MiB = 2**20


def rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def live_ctensors() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, CTensor))


class MLP(layer.Layer):
    """100 -> 64 -> 10: small enough for 350 steps in a second."""

    def __init__(self):
        super().__init__()
        self.l1 = layer.Linear(64)
        self.relu = layer.ReLU()
        self.l2 = layer.Linear(10)

    def forward(self, x):
        return self.l2(self.relu(self.l1(x)))


def _train(model, sgd, x, y, steps):
    losses = []
    for _ in range(steps):
        out = model(x)
        loss = autograd.softmax_cross_entropy(out, y)
        for p, g in autograd.backward(loss):
            sgd.update(p, g)
        losses.append(loss.to_numpy()[0])
    return losses


@pytest.fixture
def training_mode():
    old = autograd.training
    autograd.training = True
    yield
    autograd.training = old


@pytest.mark.rss
def test_mlp_training_memory_is_flat(training_mode):
    rng = np.random.default_rng(0)
    x = Tensor(data=rng.standard_normal((32, 100)).astype(np.float32), requires_grad=False)
    y = Tensor(data=rng.integers(0, 10, 32).astype(np.int32))
    model, sgd = MLP(), opt.SGD(0.05)
    _train(model, sgd, x, y, 50)  # warm-up
    count0, rss0 = live_ctensors(), rss_bytes()
    losses = _train(model, sgd, x, y, 300)
    count1, rss1 = live_ctensors(), rss_bytes()
    # One step allocates ~70 KiB (activations, the 100x64 weight gradient, the
    # SGD update's temporaries): 300 leaked steps would be ~20 MiB, and the
    # CTensor count catches even one leaked tensor.  Allow 4 MiB of RSS noise.
    assert count1 == count0, f"{count1 - count0} CTensors leaked over 300 steps"
    assert rss1 - rss0 < 4 * MiB, f"RSS grew by {(rss1 - rss0) / MiB:.1f} MiB over 300 steps"
    assert losses[-1] < losses[0]  # it really trained


@pytest.mark.rss
def test_tensor_and_graph_churn_memory_is_flat(training_mode):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((32, 48))

    def churn(n):
        for i in range(n):
            x = Tensor(data=a, dtype=tensor.float64, stores_grad=True)
            w = Tensor((48, 16), dtype=tensor.float64, stores_grad=True).gaussian(0, 1)
            h = autograd.tanh(autograd.matmul(x, w))
            parts = autograd.split(h, 1, [8, 8])
            z = autograd.cat([parts[1], parts[0]], 1)
            loss = autograd.reduce_mean(autograd.softmax(z * z, 1) + autograd.transpose(
                autograd.reshape(z, (16, -1)), (1, 0)).reshape((32, 16)))
            grads = autograd.gradients(loss)
            assert len(grads) == 2
            if i % 2:  # sometimes keep nothing, sometimes drop a graph without backward
                _ = autograd.relu(autograd.exp(x))
            del x, w, h, parts, z, loss, grads

    churn(100)
    count0, rss0 = live_ctensors(), rss_bytes()
    churn(500)
    count1, rss1 = live_ctensors(), rss_bytes()
    # one iteration allocates ~70 KiB: 500 leaked iterations would be ~35 MiB
    assert count1 == count0, f"{count1 - count0} CTensors leaked over 500 graphs"
    assert rss1 - rss0 < 4 * MiB, f"RSS grew by {(rss1 - rss0) / MiB:.1f} MiB over 500 graphs"


def test_no_ctensor_outlives_a_dropped_graph(training_mode):
    """Exact version without RSS (runs under ASan too): after a forward and
    backward whose results are all dropped, every CTensor is gone again."""
    before = live_ctensors()
    x = Tensor(data=np.ones((4, 5)), dtype=tensor.float64, stores_grad=True)
    loss = autograd.mse_loss(autograd.sigmoid(autograd.matmul(x, autograd.transpose(x))),
                             Tensor(data=np.zeros((4, 4)), dtype=tensor.float64))
    autograd.gradients(loss)
    del x, loss
    assert live_ctensors() == before
