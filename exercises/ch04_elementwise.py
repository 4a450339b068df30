"""Exercises of the chapter "Elementwise arithmetic" (docs/ops/elementwise.md).

Check your answers with:  python -m minisinga.exercises check elementwise.1 elementwise.2 elementwise.3
"""
from __future__ import annotations

import numpy as np  # noqa: F401

from minisinga import autograd, backend  # noqa: F401


def sum_to_shape(dy, shape):
    """elementwise.1: sum the CTensor ``dy`` over the axes that broadcasting
    expanded, so that the result (a CTensor) has ``shape``: the backward of every
    broadcasting operation.  Use backend.reduce_sum(x, outer, mid, inner).

    Read: docs/ops/elementwise.md.
    """
    raise NotImplementedError("elementwise.1: write sum_to_shape (docs/ops/elementwise.md)")


class BroadcastMul(autograd.Operation):
    """elementwise.2: y = a * b with NumPy broadcasting; backward returns
    (da, db), each of its input's shape.

    Read: docs/ops/elementwise.md.
    """

    def forward(self, a, b):
        raise NotImplementedError("elementwise.2: write BroadcastMul.forward (docs/ops/elementwise.md)")

    def backward(self, dy):
        raise NotImplementedError("elementwise.2: write BroadcastMul.backward (docs/ops/elementwise.md)")


class Div(autograd.Operation):
    """elementwise.3: y = a / b (same shapes); backward returns (da, db).

    Read: docs/ops/elementwise.md#div.
    """

    def forward(self, a, b):
        raise NotImplementedError("elementwise.3: write Div.forward (docs/ops/elementwise.md#div)")

    def backward(self, dy):
        raise NotImplementedError("elementwise.3: write Div.backward (docs/ops/elementwise.md#div)")
