"""Reference solutions: docs/gradcheck.md."""
from __future__ import annotations

import numpy as np

from minisinga import autograd, backend, testing


def central_difference(f, x, eps):
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + eps
        plus = f(x)
        flat[i] = orig - eps
        minus = f(x)
        flat[i] = orig
        gflat[i] = (plus - minus) / (2 * eps)
    return g


def hardswish(x):
    return x * autograd.clip(x + 3.0, 0.0, 6.0) * (1.0 / 6.0)


def hardswish_derivative(x):
    return np.where(x < -3, 0.0, np.where(x > 3, 1.0, (2 * x + 3) / 6))


class _Double(autograd.Operation):
    """y = 2x, whose backward reverses dy: right for dy = ones, wrong otherwise."""

    def forward(self, x):
        return backend.scale(x, 2.0)

    def backward(self, dy):
        rev = dy.clone()   # (NumPy only moves the data here: the bug is the reversal)
        rev.numpy().reshape(-1)[:] = dy.numpy().reshape(-1)[::-1]
        return backend.scale(rev, 2.0)


def sum_blind_op():
    return lambda x: _Double()(x)[0]


class Silu(autograd.Operation):
    def forward(self, x):
        self.x = x
        self.s = backend.unary("sigmoid_forward", x)
        return backend.mul(x, self.s)

    def backward(self, dy):
        # dy * (s + x s (1 - s))
        one_minus_s = backend.affine(self.s, -1.0, 1.0)
        inner = backend.add(self.s, backend.mul(self.x, backend.mul(self.s, one_minus_s)))
        return backend.mul(dy, inner)


def silu(x):
    return Silu()(x)[0]


def _samples(rng):
    return [testing.Sample([rng.uniform(-3, 3, (3, 4))]), testing.Sample([rng.uniform(-3, 3, (5,))])]


def silu_opinfo():
    return testing.OpInfo(name="silu_exercise", ops=(Silu,), fn=silu,
                          ref=lambda x: x / (1 + np.exp(-x)), samples=_samples)
