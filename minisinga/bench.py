"""minisinga's benchmarks, side by side with NumPy and PyTorch: ``python -m minisinga.bench``.

    python -m minisinga.bench                      # every workload, 1 and 2 threads
    python -m minisinga.bench --quick              # a few steps of each: a smoke test
    python -m minisinga.bench --workloads conv cnn --threads 2
    python -m minisinga.bench --busy               # default threads vs 1, beside a busy core
    python -m minisinga.bench --scaling docs/data/bench-scaling.json
    python -m minisinga.bench --profile cnn        # time per kernel, beside PyTorch's

The workloads (docs/performance/benchmarks.md has the targets and the results):

    gemm1024, gemm2048   C = A @ B, float32, square (the C function ``gemm`` itself)
    conv                 conv2d forward + backward, x (32, 32, 28, 28), W (32, 32, 3, 3),
                         bias, padding 1; the gradients of x, W and b
    tiny_mlp             a training step of the 400x2 -> 3 -> 2 perceptron of
                         examples/mlp_ops.py (one-hot targets, plain SGD)
    mnist_mlp            a training step of a 784 -> 256 -> 10 MLP, batch 64, SGD with
                         momentum 0.9
    cnn                  a training step of the conv / batch-norm / pool / cat network of
                         examples/cnn_ops.py, batch 32, plain SGD

The gemm rows also time ``gemm_peak_f32`` (a C loop of the micro-kernel's FMAs on
registers only, as many operations as the product, shared out between the threads)
by turns with the products, and print each product's rate as a share of that peak.

``--busy`` runs only minisinga's CNN step and gemm1024, with OpenMP's default thread
count and with 1 thread taking turns in one child: on the machine as it is, then beside
a process that keeps a core busy (pinned to the last CPU, then free to move).
``--scaling`` times minisinga's CNN step against the batch size and the MNIST MLP's
step against its width, on 1 and 2 threads by turns.
``--profile cnn`` shows where the time of one training step goes: minisinga's time
profile (``device.set_verbosity(2)``, minisinga/profiling.py: the time inside each
kernel) beside PyTorch's profiler (the time inside each ATen operation), eager mode,
on the first thread count given (default 1).

Each runs in three libraries, doing the same maths: minisinga (eager, and graph mode
for the three training steps, through ``Model.compile(use_graph=...)``), NumPy written
by hand (forward, backward and the SGD update), and PyTorch on the CPU when it is
importable.

How it measures.
    Threads.  Each thread count runs in a fresh child process whose environment sets
        OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS (OpenBLAS reads them
        once, when NumPy is imported), and the child also calls
        ``device.set_num_threads`` and ``torch.set_num_threads``.  The child's
        environment has OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed: set to values
        that do not match the CPU (as on some of our machines) they slow NumPy down.
    Time.  Within a child the libraries take turns, a few steps each (untimed warm-up
        steps, then timed ones), round after round, in a rotating order, so that a
        burst of load from another process hits them all alike; a short pause before
        each turn lets the previous library's OpenMP threads stop spinning.  The table
        shows the median of all timed steps.
    Memory.  One more fresh child per (workload, library) builds the workload, then
        measures how far the process's resident memory rises above what it was, over
        a few steps (the first one included): the peak RSS (Linux's VmHWM, reset
        through /proc/self/clear_refs; ``ru_maxrss`` where that is not possible) minus
        the RSS before the steps.  That counts every allocation, PyTorch's and NumPy's
        too.  For minisinga it also reports the peak bytes held by its device
        allocator (``device.memory_stats()['peak_bytes']``) above what was held before.

Nothing here asserts a speed; the numbers are for reading.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

WORKLOADS = ("gemm1024", "gemm2048", "conv", "tiny_mlp", "mnist_mlp", "cnn")
LIBS = ("minisinga", "minisinga-graph", "numpy", "torch")
TRAINING = ("tiny_mlp", "mnist_mlp", "cnn")   # the ones with a graph mode
DROP_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

#: (warm-up steps, timed steps per turn, rounds) per workload: fewer for the slow ones.
PLAN = {"gemm1024": (1, 3, 3), "gemm2048": (1, 2, 3), "conv": (2, 5, 3),
        "tiny_mlp": (20, 200, 3), "mnist_mlp": (10, 50, 3), "cnn": (2, 4, 3)}
QUICK_PLAN = (1, 2, 1)

Step = Callable[[], None]


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


# ============================================================================ gemm
def gemm_steps(n: int, lib: str) -> Step | None:
    """C = A @ B for n x n float32 matrices; lib "peak": the same number of
    floating-point operations in the C register-only loop ``gemm_peak_f32``,
    whose step returns the operations it did."""
    rng = _rng()
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), np.float32)
    if lib == "numpy":
        return lambda: np.matmul(a, b, out=c)
    if lib == "torch":
        import torch
        ta, tb, tc = (torch.from_numpy(v) for v in (a, b, c))
        return lambda: torch.matmul(ta, tb, out=tc)
    if lib == "peak":
        from ._lib import ffi
        from ._lib import lib as clib
        sink = ffi.new("float *")
        iters = 2 * n ** 3 // clib.gemm_peak_f32(sink, 1)   # as many flops as the product
        return lambda: clib.gemm_peak_f32(sink, iters)
    if lib == "minisinga":
        from ._lib import ffi
        from ._lib import lib as clib
        # NOTE: keep the buffers alive: a cast pointer does not own its memory
        bufs = [ffi.from_buffer(v) for v in (a, b, c)]
        pa, pb, pc = (ffi.cast("float *", v) for v in bufs)
        return lambda bufs=bufs, arrays=(a, b, c): clib.gemm_f32(pc, pa, pb, n, n, n, 0, 0,
                                                                 1.0, 0.0)
    return None


# ============================================================================ conv
CONV = {"N": 32, "C": 32, "O": 32, "H": 28, "W": 28, "k": 3, "pad": 1}


def _conv_data():
    rng = _rng()
    N, C, O, H, W, k = (CONV[s] for s in "NCOHWk")
    x = rng.standard_normal((N, C, H, W), dtype=np.float32)
    w = rng.standard_normal((O, C, k, k), dtype=np.float32) * 0.1
    b = rng.standard_normal(O, dtype=np.float32)
    dy = rng.standard_normal((N, O, H, W), dtype=np.float32)
    return x, w, b, dy


def conv_steps(lib: str) -> Step | None:
    """conv2d forward + backward (dx, dW, db) with a given upstream gradient."""
    x, w, b, dy = _conv_data()
    if lib == "numpy":
        def step():
            y, col = np_conv_forward(x, w, b)
            np_conv_backward(dy, col, w, x.shape, need_dx=True)
        return step
    if lib == "torch":
        import torch
        import torch.nn.functional as F
        tx = torch.from_numpy(x).requires_grad_()
        tw = torch.from_numpy(w).requires_grad_()
        tb = torch.from_numpy(b).requires_grad_()
        tdy = torch.from_numpy(dy)

        def step():
            tx.grad = tw.grad = tb.grad = None
            F.conv2d(tx, tw, tb, padding=CONV["pad"]).backward(tdy)
        return step
    if lib == "minisinga":
        from . import autograd
        from .tensor import Tensor
        mx = Tensor(data=x, stores_grad=True)
        mw = Tensor(data=w, stores_grad=True)
        mb = Tensor(data=b, stores_grad=True)
        mdy = Tensor(data=dy, requires_grad=False)

        def step():
            autograd.training = True
            y = autograd.conv2d(mx, mw, mb, padding=CONV["pad"])
            for _ in autograd.backward(y, mdy):
                pass
        return step
    return None


# ---------------------------------------------------------------- NumPy by hand
def _windows(xp: np.ndarray, k: int, H: int, W: int) -> np.ndarray:
    """(N, C, H, W, k, k) view: the k x k window of the padded xp at each output pixel."""
    return np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, :H, :W]


def np_conv_forward(x, w, b):
    """Stride-1 'same' convolution by im2col and one matmul; returns (y, col)."""
    N, C, H, W = x.shape
    O, _, k, _ = w.shape
    p = k // 2
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    col = _windows(xp, k, H, W).transpose(0, 2, 3, 1, 4, 5).reshape(N * H * W, C * k * k)
    y = col @ w.reshape(O, -1).T
    if b is not None:
        y += b
    return y.reshape(N, H, W, O).transpose(0, 3, 1, 2), col


def np_conv_backward(dy, col, w, x_shape, need_dx: bool):
    """(dx or None, dW, db) of np_conv_forward."""
    N, C, H, W = x_shape
    O, _, k, _ = w.shape
    p = k // 2
    dy2 = dy.transpose(0, 2, 3, 1).reshape(-1, O)
    dw = (dy2.T @ col).reshape(w.shape)
    db = dy2.sum(0)
    dx = None
    if need_dx:
        dcol = (dy2 @ w.reshape(O, -1)).reshape(N, H, W, C, k, k)
        dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), dy.dtype)
        for i in range(k):
            for j in range(k):
                dxp[:, :, i:i + H, j:j + W] += dcol[:, :, :, :, i, j].transpose(0, 3, 1, 2)
        dx = dxp[:, :, p:p + H, p:p + W]
    return dx, dw, db


def np_softmax_cross_entropy(z, t):
    """(loss, dL/dz) of the mean cross-entropy of softmax(z); t: int labels or one-hot."""
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    prob = e / e.sum(1, keepdims=True)
    n = z.shape[0]
    if t.ndim == 1:
        loss = -np.log(prob[np.arange(n), t]).mean()
        prob[np.arange(n), t] -= 1
        return loss, prob / n
    loss = -(t * np.log(prob)).sum() / n
    return loss, (prob - t) / n


def np_batchnorm(x, g, b, eps=1e-5):
    """Training-mode batch norm over (N, H, W); returns (y, cache)."""
    mean = x.mean((0, 2, 3), keepdims=True)
    var = x.var((0, 2, 3), keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean) * inv
    return g.reshape(1, -1, 1, 1) * xhat + b.reshape(1, -1, 1, 1), (xhat, inv)


def np_batchnorm_backward(dy, g, cache):
    xhat, inv = cache
    m = dy.shape[0] * dy.shape[2] * dy.shape[3]
    db = dy.sum((0, 2, 3))
    dg = (dy * xhat).sum((0, 2, 3))
    dx = (g * inv.ravel()).reshape(1, -1, 1, 1) * (
        dy - (db.reshape(1, -1, 1, 1) + xhat * dg.reshape(1, -1, 1, 1)) / m)
    return dx, dg, db


def np_maxpool3(x):
    """3x3 max pool, stride 1, padding 1 (padding never wins); returns (y, argmax)."""
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    win = _windows(xp, 3, H, W).reshape(N, C, H, W, 9)
    arg = win.argmax(-1)
    return np.take_along_axis(win, arg[..., None], -1)[..., 0], arg


def np_maxpool3_backward(dy, arg):
    N, C, H, W = dy.shape
    dxp = np.zeros((N, C, H + 2, W + 2), dy.dtype)
    for t in range(9):
        i, j = divmod(t, 3)
        dxp[:, :, i:i + H, j:j + W] += np.where(arg == t, dy, 0)
    return dxp[:, :, 1:-1, 1:-1]


def np_avgpool3(x, count):
    """3x3 average pool, stride 1, padding 1, padding not counted."""
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    return _windows(xp, 3, H, W).sum((-1, -2)) / count


def np_avgpool3_backward(dy, count):
    N, C, H, W = dy.shape
    g = dy / count
    dxp = np.zeros((N, C, H + 2, W + 2), dy.dtype)
    for i in range(3):
        for j in range(3):
            dxp[:, :, i:i + H, j:j + W] += g
    return dxp[:, :, 1:-1, 1:-1]


def _torch_device(dev) -> str:
    """PyTorch's device for minisinga's ``dev`` (None or a CPU device: "cpu")."""
    return "cpu" if dev is None or dev.is_cpu() else "cuda"


# ============================================================================ tiny MLP
def _tiny_data():
    rng = _rng()
    x = rng.uniform(-1, 1, 400)
    y = 5 * x + 1 + rng.standard_normal(400) * 2
    data = np.stack([x, y], axis=1).astype(np.float32)
    label = np.zeros((400, 2), np.float32)
    label[np.arange(400), (y > 5 * x + 1).astype(int)] = 1
    return data, label


def _mnist_batch(batch: int):
    from .datasets import load_mnist
    x, y = load_mnist()[:2]
    return x[:batch].astype(np.float32), y[:batch].astype(np.int32)


def mlp_steps(workload: str, lib: str, dev=None, width: int = 256) -> Step | None:
    """A training step of tiny_mlp (2 -> 3 -> 2, SGD 0.05, one-hot targets) or
    mnist_mlp (784 -> width -> 10, width 256 unless said, batch 64, SGD 0.05
    momentum 0.9).

    ``dev``: where minisinga and PyTorch run; None is the CPU, a minisinga GPU
    device runs torch on ``"cuda"`` (tools/gpu_bench.py).  The torch and
    minisinga steps return their loss tensor (for checking; NumPy's: None)."""
    if workload == "tiny_mlp":
        x, t = _tiny_data()
        sizes, lr, momentum = (2, 3, 2), 0.05, 0.0
    else:
        x, t = _mnist_batch(64)
        x = x.reshape(64, -1)
        sizes, lr, momentum = (784, width, 10), 0.05, 0.9
    rng = _rng()
    w0 = (rng.standard_normal(sizes[:2]) * 0.1).astype(np.float32)
    w1 = (rng.standard_normal(sizes[1:]) * 0.1).astype(np.float32)
    b0, b1 = np.zeros(sizes[1], np.float32), np.zeros(sizes[2], np.float32)

    if lib == "numpy":
        params = [w0, b0, w1, b1]
        bufs = [np.zeros_like(p) for p in params]

        def step():
            h = x @ w0 + b0
            r = np.maximum(h, 0)
            z = r @ w1 + b1
            _, dz = np_softmax_cross_entropy(z, t)
            dr = dz @ w1.T
            dh = dr * (h > 0)
            grads = [x.T @ dh, dh.sum(0), r.T @ dz, dz.sum(0)]
            for p, g, buf in zip(params, grads, bufs):
                if momentum:
                    buf *= momentum
                    buf += g
                    g = buf
                p -= lr * g
        return step

    if lib == "torch":
        import torch
        import torch.nn.functional as F
        net = torch.nn.Sequential(torch.nn.Linear(*sizes[:2]), torch.nn.ReLU(),
                                  torch.nn.Linear(*sizes[1:]))
        with torch.no_grad():
            net[0].weight.copy_(torch.from_numpy(w0.T.copy()))
            net[2].weight.copy_(torch.from_numpy(w1.T.copy()))
        net.to(_torch_device(dev))
        sgd = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
        tx = torch.from_numpy(x).to(_torch_device(dev))
        tt = torch.from_numpy(t.astype(np.int64) if t.ndim == 1 else t).to(_torch_device(dev))

        def step():
            sgd.zero_grad()
            loss = F.cross_entropy(net(tx), tt)
            loss.backward()
            sgd.step()
            return loss
        return step

    if lib.startswith("minisinga"):
        from . import layer, model, opt, tensor

        class MLP(model.Model):
            def __init__(self):
                super().__init__()
                self.linear1 = layer.Linear(sizes[1])
                self.relu = layer.ReLU()
                self.linear2 = layer.Linear(sizes[2])
                self.loss = layer.SoftMaxCrossEntropy()

            def forward(self, inputs):
                return self.linear2(self.relu(self.linear1(inputs)))

            def train_one_batch(self, inputs, target):
                out = self.forward(inputs)
                loss = self.loss(out, target)
                self.optimizer(loss)
                return out, loss

        m = MLP()
        m.optimizer = opt.SGD(lr=lr, momentum=momentum)
        tx = tensor.Tensor(data=x, device=dev, requires_grad=False)
        tt = tensor.Tensor(data=t, device=dev, requires_grad=False)
        m.compile([tx], is_train=True, use_graph=lib == "minisinga-graph")
        m.linear1.W.copy_from_numpy(w0)
        m.linear2.W.copy_from_numpy(w1)

        def step():
            return m(tx, tt)[1]
        return step
    return None


# ============================================================================ CNN
def cnn_steps(lib: str, batch: int = 32, dev=None) -> Step | None:
    """A training step of examples/cnn_ops.py's CNN (batch 32, SGD lr 0.003).

    ``dev`` as for ``mlp_steps``.  minisinga's parameters come from the device's
    random numbers after ``set_rand_seed(0)``, the same on every device."""
    x, t = _mnist_batch(batch)
    x = x.reshape(batch, 1, 28, 28)
    lr = 0.003

    if lib == "numpy":
        return _np_cnn_step(x, t, lr)

    if lib == "torch":
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        class CNN(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(1, 32, 3, padding=1, bias=False)
                self.bn1 = nn.BatchNorm2d(32)
                self.pooling1 = nn.MaxPool2d(3, 1, padding=1)
                self.conv21 = nn.Conv2d(32, 16, 3, padding=1)
                self.conv22 = nn.Conv2d(32, 16, 3, padding=1)
                self.bn2 = nn.BatchNorm2d(32)
                self.linear = nn.Linear(32 * 28 * 28, 10)
                self.pooling2 = nn.AvgPool2d(3, 1, padding=1, count_include_pad=False)

            def forward(self, x):
                y = self.pooling1(self.bn1(F.relu(self.conv1(x))))
                y = torch.cat((self.conv21(y), self.conv22(y)), 1)
                y = self.pooling2(self.bn2(F.relu(y)))
                return self.linear(torch.flatten(y, 1))

        net = CNN().to(_torch_device(dev))
        sgd = torch.optim.SGD(net.parameters(), lr=lr)
        tx = torch.from_numpy(x).to(_torch_device(dev))
        tt = torch.from_numpy(t.astype(np.int64)).to(_torch_device(dev))

        def step():
            sgd.zero_grad()
            loss = F.cross_entropy(net(tx), tt)
            loss.backward()
            sgd.step()
            return loss
        return step

    if lib.startswith("minisinga"):
        from . import autograd, device, model, opt, tensor

        class CNN(model.Model):
            """examples/cnn_ops.py's CNN (the same layers and forward) as a Model."""

            def __init__(self):
                super().__init__()
                self.conv1 = autograd.Conv2d(1, 32, 3, padding=1, bias=False)
                self.bn1 = autograd.BatchNorm2d(32)
                self.pooling1 = autograd.MaxPool2d(3, 1, padding=1)
                self.conv21 = autograd.Conv2d(32, 16, 3, padding=1)
                self.conv22 = autograd.Conv2d(32, 16, 3, padding=1)
                self.bn2 = autograd.BatchNorm2d(32)
                self.linear = autograd.Linear(32 * 28 * 28, 10)
                self.pooling2 = autograd.AvgPool2d(3, 1, padding=1)

            def forward(self, x):
                y = self.pooling1(self.bn1(autograd.relu(self.conv1(x))))
                y = autograd.cat((self.conv21(y), self.conv22(y)), 1)
                y = self.pooling2(self.bn2(autograd.relu(y)))
                return self.linear(autograd.flatten(y))

            def train_one_batch(self, x, t):
                out = self.forward(x)
                loss = autograd.softmax_cross_entropy(out, t)
                self.optimizer(loss)
                return out, loss

        (dev or device.get_default_device()).set_rand_seed(0)
        m = CNN()
        m.optimizer = opt.SGD(lr=lr)
        tx = tensor.Tensor(data=x, device=dev, requires_grad=False)
        tt = tensor.Tensor(data=t, device=dev, requires_grad=False)
        m.compile([tx], is_train=True, use_graph=lib == "minisinga-graph")

        def step():
            return m(tx, tt)[1]
        return step
    return None


def _np_cnn_step(x, t, lr) -> Step:
    """The CNN's forward, backward and SGD update in NumPy."""
    rng = _rng()

    def he(*shape):
        fan_in = int(np.prod(shape[1:]))
        return (rng.standard_normal(shape) * np.sqrt(2 / fan_in)).astype(np.float32)

    p = {"w1": he(32, 1, 3, 3), "g1": np.ones(32, np.float32), "be1": np.zeros(32, np.float32),
         "w21": he(16, 32, 3, 3), "b21": np.zeros(16, np.float32),
         "w22": he(16, 32, 3, 3), "b22": np.zeros(16, np.float32),
         "g2": np.ones(32, np.float32), "be2": np.zeros(32, np.float32),
         "wl": (rng.standard_normal((32 * 28 * 28, 10)) * 0.01).astype(np.float32),
         "bl": np.zeros(10, np.float32)}
    ones = np.pad(np.ones((1, 1, 28, 28), np.float32), ((0, 0), (0, 0), (1, 1), (1, 1)))
    count = _windows(ones, 3, 28, 28).sum((-1, -2))

    def step():
        # forward
        y1, col1 = np_conv_forward(x, p["w1"], None)
        r1 = np.maximum(y1, 0)
        n1, bn1 = np_batchnorm(r1, p["g1"], p["be1"])
        m1, arg = np_maxpool3(n1)
        y21, col21 = np_conv_forward(m1, p["w21"], p["b21"])
        y22, col22 = np_conv_forward(m1, p["w22"], p["b22"])
        c = np.concatenate((y21, y22), 1)
        r2 = np.maximum(c, 0)
        n2, bn2 = np_batchnorm(r2, p["g2"], p["be2"])
        a2 = np_avgpool3(n2, count)
        flat = a2.reshape(a2.shape[0], -1)
        z = flat @ p["wl"] + p["bl"]
        _, dz = np_softmax_cross_entropy(z, t)
        # backward
        g = {"wl": flat.T @ dz, "bl": dz.sum(0)}
        da2 = (dz @ p["wl"].T).reshape(a2.shape)
        dn2 = np_avgpool3_backward(da2, count)
        dr2, g["g2"], g["be2"] = np_batchnorm_backward(dn2, p["g2"], bn2)
        dc = dr2 * (c > 0)
        dm21, g["w21"], g["b21"] = np_conv_backward(dc[:, :16], col21, p["w21"], m1.shape, True)
        dm22, g["w22"], g["b22"] = np_conv_backward(dc[:, 16:], col22, p["w22"], m1.shape, True)
        dn1 = np_maxpool3_backward(dm21 + dm22, arg)
        dr1, g["g1"], g["be1"] = np_batchnorm_backward(dn1, p["g1"], bn1)
        dy1 = dr1 * (y1 > 0)
        _, g["w1"], _ = np_conv_backward(dy1, col1, p["w1"], x.shape, False)
        for k, v in p.items():
            v -= lr * g[k]
    return step


# ============================================================================ the runner
def make_step(workload: str, lib: str) -> Step | None:
    """The step function of ``workload`` in ``lib``, or None where it does not apply."""
    if lib == "minisinga-graph" and workload not in TRAINING:
        return None
    if lib == "peak" and not workload.startswith("gemm"):
        return None
    if workload.startswith("gemm"):
        return gemm_steps(int(workload[4:]), lib)
    if workload == "conv":
        return conv_steps(lib)
    if workload in ("tiny_mlp", "mnist_mlp"):
        return mlp_steps(workload, lib)
    if workload == "cnn":
        return cnn_steps(lib)
    raise ValueError(f"unknown workload {workload!r}; expected one of {WORKLOADS}")


def _have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        print(f"(PyTorch is left out: `import torch` failed: {exc})", file=sys.stderr)
        return False
    return True


def child_time(workload: str, libs: list[str], plan: tuple[int, int, int]) -> dict:
    """In a child process: time each library's step; {lib: [seconds, ...]}."""
    from . import autograd, device

    threads = int(os.environ["OMP_NUM_THREADS"])
    device.set_num_threads(threads)
    if "torch" in libs:
        import torch
        torch.set_num_threads(threads)
    steps = {}
    for lib in libs:
        step = make_step(workload, lib)
        if step is not None:
            steps[lib] = step
    warmup, repeat, rounds = plan
    times: dict[str, list[float]] = {lib: [] for lib in steps}
    order = list(steps)
    for r in range(rounds):
        for lib in order[r % len(order):] + order[:r % len(order)]:
            time.sleep(0.05)   # NOTE: let the previous library's spinning threads sleep
            step = steps[lib]
            for _ in range(warmup):
                step()
            for _ in range(repeat):
                t0 = time.perf_counter()
                step()
                times[lib].append(time.perf_counter() - t0)
    autograd.training = False
    if "peak" in steps:   # floating-point operations of one peak step
        times["peak_flops"] = steps["peak"]()
    # times minisinga's loops went to one thread (the busy-machine rule), as a list
    # like the times: 0 unless another program held a core during the child
    times["busy_backoffs"] = [device.busy_backoffs()]
    return times


def _rss_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            m = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M)
        return int(m.group(1)) if m else None
    except OSError:
        return None


def child_memory(workload: str, lib: str, steps: int) -> dict:
    """In a child process: the rise of resident memory over ``steps`` steps of one
    library (bytes), and for minisinga its allocator's peak."""
    from . import device

    dev = device.get_default_device()
    step = make_step(workload, lib)
    if step is None:
        return {}
    held = dev.memory_stats()["bytes_in_use"]
    dev.reset_peak_memory()
    try:   # reset the peak RSS (VmHWM) to the current RSS (Linux >= 4.0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        hwm_ok = True
    except OSError:
        hwm_ok = False
    before = _rss_kib("VmRSS")
    for _ in range(steps):
        step()
    if hwm_ok and before is not None:
        peak_rss = (_rss_kib("VmHWM") - before) * 1024
    else:   # ru_maxrss (KiB on Linux) also counts the imports' peak: an underestimate
        peak_rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - (before or 0)) * 1024
    out = {"rss_bytes": max(peak_rss, 0), "method": "VmHWM" if hwm_ok else "ru_maxrss"}
    if lib.startswith("minisinga"):
        out["device_bytes"] = dev.memory_stats()["peak_bytes"] - held
    return out


def _spawn(args: list[str], threads: int | None) -> dict:
    """Run this module as a child with ``threads`` threads (None: OpenMP's default,
    one per CPU, whatever the caller's environment says); its JSON answer."""
    env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
    if threads is None:
        env.pop("OMP_NUM_THREADS", None)
    else:
        env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
    proc = subprocess.run([sys.executable, "-m", "minisinga.bench", *args], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    return f"{s * 1e3:.2f} ms"


def _fmt_ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def _fmt_mib(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:.1f}"


def run(workloads: list[str], threads: list[int], libs: list[str], quick: bool,
        memory: bool, out=print) -> dict:
    """Run the children and print the tables; returns the raw results."""
    results: dict = {"time": {}, "memory": {}}
    for w in workloads:
        plan = QUICK_PLAN if quick else PLAN[w]
        for t in threads:
            child_libs = libs + ["peak"] if w.startswith("gemm") else libs
            ts = _spawn(["--child-time", w, "--libs", *child_libs, "--plan",
                         *map(str, plan)], t)
            flops = ts.pop("peak_flops", None)
            results["time"][f"{w}/{t}"] = {lib: statistics.median(v) for lib, v in ts.items()}
            if flops:
                results["time"][f"{w}/{t}"]["peak_flops"] = flops
        if memory and not w.startswith("gemm"):
            for lib in libs:
                if make_step_applies(w, lib):
                    results["memory"][f"{w}/{lib}"] = _spawn(
                        ["--child-memory", w, "--lib", lib, "--steps", "2" if quick else "3"], 1)

    out("Time per step (median); ratios of the medians: minisinga / torch, minisinga / numpy")
    out(f"{'workload':<10} {'thr':>3} {'minisinga':>10} {'graph':>10} {'numpy':>10} "
        f"{'torch':>10} {'ms/torch':>8} {'gr/torch':>8} {'ms/numpy':>8} {'gr/numpy':>8}")
    for w in workloads:
        for t in threads:
            r = results["time"][f"{w}/{t}"]
            ms, gr, npy, th = (r.get(k) for k in ("minisinga", "minisinga-graph", "numpy", "torch"))
            out(f"{w:<10} {t:>3} {_fmt_time(ms):>10} {_fmt_time(gr):>10} {_fmt_time(npy):>10} "
                f"{_fmt_time(th):>10} {_fmt_ratio(ms, th):>8} {_fmt_ratio(gr, th):>8} "
                f"{_fmt_ratio(ms, npy):>8} {_fmt_ratio(gr, npy):>8}")
    backoffs = {key: r["busy_backoffs"] for key, r in results["time"].items()
                if r.get("busy_backoffs")}
    out("minisinga's loops went to one thread for a while (the busy-machine rule): "
        + (", ".join(f"{key} {n:.0f} times" for key, n in backoffs.items())
           if backoffs else "never"))
    gemms = [w for w in workloads if w.startswith("gemm")]
    if gemms:
        out("")
        out("sgemm against the cores' peak: gemm_peak_f32, a loop of the micro-kernel's FMAs "
            "on registers only, shared by the threads, timed in the same child by turns")
        out(f"{'workload':<10} {'thr':>3} {'peak':>12} {'minisinga':>12} {'numpy':>12} "
            f"{'torch':>12} {'ms/peak':>8}")
        for w in gemms:
            n = int(w[4:])
            for t in threads:
                r = results["time"][f"{w}/{t}"]
                rate = {k: 2 * n ** 3 / r[k] / 1e9 if r.get(k) else None
                        for k in ("minisinga", "numpy", "torch")}
                peak = r["peak_flops"] / r["peak"] / 1e9 if r.get("peak") else None
                r["peak_gflops"] = peak
                cells = [f"{v:.1f} GF/s" if v else "-" for v in
                         (peak, rate["minisinga"], rate["numpy"], rate["torch"])]
                share = f"{rate['minisinga'] / peak:.0%}" if peak and rate["minisinga"] else "-"
                out(f"{w:<10} {t:>3} " + " ".join(f"{c:>12}" for c in cells) + f" {share:>8}")
    if results["memory"]:
        out("")
        out("Peak memory of a few steps (1 thread, a fresh process each): the rise of the "
            "process's resident memory (VmHWM - VmRSS before), MiB; minisinga's own "
            "allocator peak in brackets")
        out(f"{'workload':<10} " + " ".join(f"{lib:>20}" for lib in libs))
        for w in workloads:
            if w.startswith("gemm"):
                continue
            cells = []
            for lib in libs:
                m = results["memory"].get(f"{w}/{lib}")
                if not m:
                    cells.append(f"{'-':>20}")
                    continue
                cell = _fmt_mib(m["rss_bytes"])
                if "device_bytes" in m:
                    cell += f" ({_fmt_mib(m['device_bytes'])})"
                cells.append(f"{cell:>20}")
            out(f"{w:<10} " + " ".join(cells))
    return results


# ============================================================================ busy machine
BUSY_WORKLOADS = ("cnn", "gemm1024")
#: (warm-up steps, timed steps per turn, rounds) of each thread count in --busy
BUSY_PLAN = {"cnn": (2, 5, 4), "gemm1024": (1, 3, 4)}


def _burn() -> None:
    """The competing program of ``--busy``: keeps one core busy, doing nothing."""
    while True:
        pass


def start_busy(pinned: bool) -> multiprocessing.Process:
    """Start a process that keeps a core busy; ``pinned``: to the last CPU only.

    It is started with ``spawn`` (a fresh interpreter), never ``fork``: a forked copy
    of a process whose OpenMP threads have run inherits a thread pool without its
    threads."""
    proc = multiprocessing.get_context("spawn").Process(target=_burn, daemon=True)
    proc.start()
    if pinned:
        os.sched_setaffinity(proc.pid, {max(os.sched_getaffinity(0))})
    return proc


def child_threads(workload: str, plan: tuple[int, int, int]) -> dict:
    """In a child process: minisinga's step with the default thread count and with
    one thread, taking turns in one process; {"default": [s, ...], "one": [...],
    "threads": the default count}."""
    from . import autograd, device

    default = device.get_num_threads()
    step = make_step(workload, "minisinga")
    warmup, repeat, rounds = plan
    times: dict = {"default": [], "one": [], "threads": default, "backoffs": 0}
    for r in range(rounds):
        for name in ("default", "one") if r % 2 == 0 else ("one", "default"):
            device.set_num_threads(default if name == "default" else 1)
            time.sleep(0.05)
            for _ in range(warmup):
                step()
            before = device.busy_backoffs()
            for _ in range(repeat):
                t0 = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t0)
            times["backoffs"] += device.busy_backoffs() - before   # (timed steps only)
    autograd.training = False
    return times


def run_busy(workloads: list[str], quick: bool, out=print) -> dict:
    """``--busy``: default threads against one thread, with the machine as it is
    ("quiet"), then with a busy process pinned to the last CPU, then with one the
    scheduler may move; returns {"<workload>/<machine>": {"default": median, ...}}."""
    machines = (("quiet", None), ("busy, pinned", True), ("busy, unpinned", False))
    results: dict = {}
    for machine, pinned in machines:
        hog = None if pinned is None else start_busy(pinned)
        try:
            for w in workloads:
                plan = QUICK_PLAN if quick else BUSY_PLAN.get(w, PLAN[w])
                ts = _spawn(["--child-threads", w, "--plan", *map(str, plan)], None)
                results[f"{w}/{machine}"] = {"default": statistics.median(ts["default"]),
                                             "one": statistics.median(ts["one"]),
                                             "threads": ts["threads"],
                                             "backoffs": ts["backoffs"],
                                             "steps": len(ts["default"])}
        finally:
            if hog is not None:
                hog.terminate()
                hog.join()
    last = max(os.sched_getaffinity(0))
    out(f"Default threads against 1 thread, taking turns in one process (median time "
        f"per step); 'pinned': the busy process runs on CPU {last} only")
    out("and how often the default count's loops backed off to one thread during its "
        "timed steps (the busy-machine rule)")
    out(f"{'workload':<10} {'machine':<15} {'thr':>3} {'default':>10} {'1 thread':>10} "
        f"{'back-offs':>14} {'default/1':>9}")
    for w in workloads:
        for machine, _ in machines:
            r = results[f"{w}/{machine}"]
            backoffs = f"{r['backoffs']} in {r['steps']}"
            out(f"{w:<10} {machine:<15} {r['threads']:>3} {_fmt_time(r['default']):>10} "
                f"{_fmt_time(r['one']):>10} {backoffs:>14} "
                f"{_fmt_ratio(r['default'], r['one']):>9}")
    return results


# ============================================================================ scaling
#: The scaling curves: the CNN step against the batch size, the MNIST MLP step
#: (batch 64) against its hidden layer's width.
SCALING = {"cnn_batch": (8, 16, 32, 64, 128), "mlp_width": (64, 128, 256, 512, 1024, 2048)}
SCALING_THREADS = (1, 2)


def scaling_step(curve: str, size: int) -> Step:
    """minisinga's step at one point of a scaling curve."""
    if curve == "cnn_batch":
        return cnn_steps("minisinga", batch=size)
    return mlp_steps("mnist_mlp", "minisinga", width=size)


def child_scaling(plan: tuple[int, int, int]) -> dict:
    """In a child process: every point of every curve on 1 and 2 threads, the thread
    counts taking turns; {curve: {threads: [median seconds per size]}}."""
    from . import autograd, device

    warmup, repeat, rounds = plan
    out: dict = {}
    for curve, sizes in SCALING.items():
        out[curve] = {str(t): [] for t in SCALING_THREADS}
        for size in sizes:
            step = scaling_step(curve, size)
            times: dict = {t: [] for t in SCALING_THREADS}
            for r in range(rounds):
                for t in SCALING_THREADS[::1 if r % 2 == 0 else -1]:
                    device.set_num_threads(t)
                    time.sleep(0.02)
                    for _ in range(warmup):
                        step()
                    for _ in range(repeat):
                        t0 = time.perf_counter()
                        step()
                        times[t].append(time.perf_counter() - t0)
            for t in SCALING_THREADS:
                out[curve][str(t)].append(statistics.median(times[t]))
    autograd.training = False
    return out


def run_scaling(path: str | None, quick: bool, out=print) -> dict:
    """``--scaling``: the curves, printed, and written to ``path`` as JSON (the
    benchmarks page draws docs/data/bench-scaling.json)."""
    plan = QUICK_PLAN if quick else (1, 3, 2)
    res = _spawn(["--child-scaling", "--plan", *map(str, plan)], None)
    record = {"command": "python -m minisinga.bench --scaling" + (" --quick" if quick else ""),
              "cpus": os.cpu_count(), "sizes": {k: list(v) for k, v in SCALING.items()},
              "seconds": res}
    names = {"cnn_batch": "CNN step, batch", "mlp_width": "MNIST MLP step, width"}
    out("Time per step (median) against the batch size and the model's width, "
        f"threads {', '.join(map(str, SCALING_THREADS))} taking turns in one process")
    for curve, sizes in SCALING.items():
        out(f"{names[curve]:<22} " + " ".join(f"{n:>9}" for n in sizes))
        for t in SCALING_THREADS:
            out(f"{f'  {t} thread(s)':<22} "
                + " ".join(f"{_fmt_time(v):>9}" for v in res[curve][str(t)]))
    if path:
        with open(path, "w") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
    return record


# ============================================================================ profile
PROFILE_PLAN = (5, 20)   # (steps skipped, steps timed) of --profile


def child_profile(workload: str, plan: tuple[int, int]) -> dict:
    """In a child process: the mean seconds per step inside each kernel of
    minisinga's eager ``workload`` step, and inside each ATen operation of
    PyTorch's (self time), when PyTorch is importable.  {lib: {name: [calls per
    step, seconds per step]}}, plus minisinga's whole step ("step")."""
    from . import autograd, device

    skip, timed = plan
    threads = int(os.environ["OMP_NUM_THREADS"])
    device.set_num_threads(threads)
    dev = device.get_default_device()
    step = make_step(workload, "minisinga")
    dev.set_verbosity(2)
    dev.set_skip_iteration(skip)
    for _ in range(skip):
        step()
    t0 = time.perf_counter()
    for _ in range(timed):
        step()
    out = {"step": (time.perf_counter() - t0) / timed,
           "minisinga": {k: list(v) for k, v in dev.time_profile()["kernels"].items()}}
    dev.set_verbosity(0)
    autograd.training = False
    if _have_torch():
        import torch
        from torch.profiler import ProfilerActivity, profile

        torch.set_num_threads(threads)
        step = make_step(workload, "torch")
        for _ in range(skip):
            step()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(timed):
                step()
        ops = [e for e in prof.key_averages() if e.key.startswith("aten::")]
        ops.sort(key=lambda e: -e.self_cpu_time_total)
        out["torch"] = {e.key: [e.count / timed, e.self_cpu_time_total * 1e-6 / timed]
                        for e in ops if e.self_cpu_time_total > 0}
    return out


def run_profile(workload: str, threads: int, quick: bool, out=print, rows: int = 14) -> dict:
    """``--profile``: the two profiles of one training step, side by side."""
    plan = (1, 2) if quick else PROFILE_PLAN
    res = _spawn(["--child-profile", workload, "--plan", *map(str, plan), "0"], threads)
    out(f"Where the time of a {workload} training step goes, {threads} thread(s), eager: "
        f"the mean over {plan[1]} steps after {plan[0]}; minisinga's kernels "
        "(device.set_verbosity(2)) and PyTorch's ATen operations (torch.profiler, self "
        "time).  The time outside kernels is Python (layers, autograd, allocation).")
    sides = [("minisinga", res["minisinga"])] + ([("torch", res["torch"])]
                                                   if "torch" in res else [])
    totals = {lib: sum(v[1] for v in table.values()) for lib, table in sides}
    lines = {lib: [f"{name[:34]:<34} {n:4.0f} {sec * 1e3:8.3f} {sec / totals[lib]:6.1%}"
                   for name, (n, sec) in list(table.items())[:rows]]
             for lib, table in sides}
    header = f"{'':<34} {'runs':>4} {'ms/step':>8} {'share':>6}"
    out("   ".join(f"{lib + ' ' + header[len(lib) + 1:]:<56}" for lib, _ in sides))
    for i in range(max(len(v) for v in lines.values())):
        out("   ".join(f"{(lines[lib][i] if i < len(lines[lib]) else ''):<56}"
                       for lib, _ in sides))
    out("   ".join(f"{'in all ' + lib:<34} {'':>4} {totals[lib] * 1e3:8.3f} {'':>6}      "
                   for lib, _ in sides))
    out(f"minisinga's whole step: {res['step'] * 1e3:.3f} ms, of which "
        f"{totals['minisinga'] / res['step']:.0%} inside its kernels")
    return res


def make_step_applies(workload: str, lib: str) -> bool:
    """Whether ``lib`` has a version of ``workload`` (graph mode: training steps only)."""
    return not (lib == "minisinga-graph" and workload not in TRAINING)


def main(argv: list[str] | None = None) -> None:
    """The command line: ``python -m minisinga.bench [--quick] [--workloads ...]``."""
    p = argparse.ArgumentParser(prog="python -m minisinga.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=None,
                   help="default: all (with --busy: cnn gemm1024)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--libs", nargs="+", choices=LIBS + ("peak",), default=None,
                   help="default: all (torch only when importable)")
    p.add_argument("--quick", action="store_true",
                   help="one round of two steps per library, one thread: a smoke test")
    p.add_argument("--no-memory", action="store_true", help="skip the memory children")
    p.add_argument("--json", help="also write the raw results to this file")
    p.add_argument("--scaling", nargs="?", const="", metavar="JSON",
                   help="only minisinga: time per step against the batch size and the "
                        "model's width, 1 and 2 threads; also written to JSON if given "
                        "(docs/data/bench-scaling.json for the benchmarks page)")
    p.add_argument("--busy", action="store_true",
                   help="only minisinga, default threads against 1 thread: on the machine "
                        "as it is, then beside a process that keeps a core busy")
    p.add_argument("--profile", choices=TRAINING, metavar="WORKLOAD",
                   help="time inside each kernel of one training step (one of "
                        f"{', '.join(TRAINING)}), beside PyTorch's profile")
    p.add_argument("--child-time", help=argparse.SUPPRESS)
    p.add_argument("--child-profile", help=argparse.SUPPRESS)
    p.add_argument("--child-memory", help=argparse.SUPPRESS)
    p.add_argument("--child-threads", help=argparse.SUPPRESS)
    p.add_argument("--child-scaling", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--lib", help=argparse.SUPPRESS)
    p.add_argument("--plan", type=int, nargs=3, help=argparse.SUPPRESS)
    p.add_argument("--steps", type=int, default=3, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child_time:
        times = child_time(args.child_time, args.libs, tuple(args.plan))
        print(json.dumps(times))
        return
    if args.child_memory:
        print(json.dumps(child_memory(args.child_memory, args.lib, args.steps)))
        return
    if args.child_threads:
        print(json.dumps(child_threads(args.child_threads, tuple(args.plan))))
        return
    if args.child_profile:
        print(json.dumps(child_profile(args.child_profile, tuple(args.plan[:2]))))
        return
    if args.profile:
        res = run_profile(args.profile, args.threads[0], args.quick)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(res, f, indent=1)
        return
    if args.child_scaling:
        print(json.dumps(child_scaling(tuple(args.plan))))
        return
    if args.scaling is not None:
        run_scaling(args.scaling or None, args.quick)
        return
    if args.busy:
        res = {"busy": run_busy(args.workloads or list(BUSY_WORKLOADS), args.quick)}
        if args.json:
            with open(args.json, "w") as f:
                json.dump(res, f, indent=1)
        return

    libs = args.libs or [lib for lib in LIBS if lib != "torch" or _have_torch()]
    threads = [1] if args.quick and args.threads == [1, 2] else args.threads
    from . import device
    print(f"minisinga benchmarks: {os.cpu_count()} CPUs, {device.get_num_threads()} OpenMP "
          f"threads by default; libraries {', '.join(libs)}; threads {threads}"
          f"{'; quick mode' if args.quick else ''}")
    print(f"(children run without {' and '.join(DROP_ENV)})")
    res = run(args.workloads or list(WORKLOADS), threads, libs, args.quick, not args.no_memory)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
