"""Exercises of the chapter "Gradient checking" (docs/gradcheck.md).

Check your answers with:  python -m minisinga.exercises check gradcheck.1 ...
"""
from __future__ import annotations

import numpy as np  # noqa: F401

from minisinga import autograd, backend, testing  # noqa: F401


def central_difference(f, x: np.ndarray, eps: float) -> np.ndarray:
    """gradcheck.1: the gradient of the scalar function ``f`` at ``x`` (an
    array, left unchanged) by central differences with step ``eps``.

    Read: docs/gradcheck.md, "Central differences".
    """
    raise NotImplementedError("gradcheck.1: write central_difference (docs/gradcheck.md)")


def hardswish(x):
    """gradcheck.2: hardswish(x) = x * relu6(x + 3) / 6 on a Tensor, built from
    autograd's operations (no backward of its own needed)."""
    raise NotImplementedError("gradcheck.2: write hardswish (docs/gradcheck.md)")


def hardswish_derivative(x: np.ndarray) -> np.ndarray:
    """gradcheck.2: d hardswish / dx at each element of ``x``, derived by hand
    (the check compares it with autograd's answer)."""
    raise NotImplementedError("gradcheck.2: derive hardswish_derivative (docs/gradcheck.md)")


def sum_blind_op():
    """gradcheck.3: return a function (Tensor -> Tensor, built on an Operation
    you write) whose backward is WRONG, yet whose gradient of ``y.sum()`` is
    right.  minisinga.gradcheck must catch it.

    Read: docs/gradcheck.md, "Why not .sum()?".
    """
    raise NotImplementedError("gradcheck.3: write sum_blind_op (docs/gradcheck.md)")


class Silu(autograd.Operation):
    """gradcheck.4: y = x * sigmoid(x), an Operation of your own (kernels:
    backend.unary("sigmoid_forward", x), backend.mul, backend.affine, ...)."""

    def forward(self, x):
        raise NotImplementedError("gradcheck.4: write Silu.forward (docs/gradcheck.md)")

    def backward(self, dy):
        raise NotImplementedError("gradcheck.4: write Silu.backward (docs/gradcheck.md)")


def silu_opinfo():
    """gradcheck.4: a ``testing.OpInfo`` for Silu (name, ops, fn, a float64
    NumPy ref, samples), as minisinga/testing/*.py register theirs.

    Read: docs/gradcheck.md, "A worked example: a new operation", and
    minisinga/testing/registry.py.
    """
    raise NotImplementedError("gradcheck.4: write silu_opinfo (docs/gradcheck.md)")
