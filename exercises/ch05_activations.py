"""Exercises of the chapter "Activations and softmax" (docs/ops/activations.md).

Check your answers with:  python -m minisinga.exercises check activations.1 activations.2 activations.3
"""
from __future__ import annotations

import numpy as np  # noqa: F401

from minisinga import autograd, backend  # noqa: F401


class Softplus(autograd.Operation):
    """activations.1: y = log(1 + exp(x)); derive the backward.

    Read: docs/ops/activations.md#softplus.
    """

    def forward(self, x):
        raise NotImplementedError("activations.1: write Softplus.forward (docs/ops/activations.md)")

    def backward(self, dy):
        raise NotImplementedError("activations.1: write Softplus.backward (docs/ops/activations.md)")


def softmax_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """activations.2: dL/dx of y = softmax(x) along axis 1, given
    y and dy = dL/dy (NumPy arrays of shape (N, C)).  Derive it from the Jacobian.

    Read: docs/ops/activations.md#softmax.
    """
    raise NotImplementedError("activations.2: write softmax_backward (docs/ops/activations.md)")


class LeakyRelu(autograd.Operation):
    """activations.3: y = x where x >= 0, a x elsewhere, with
    minisinga's convention at x = 0.  (Call super().__init__() in __init__.)

    Read: docs/ops/activations.md#leakyrelu.
    """

    def __init__(self, a: float = 0.01):
        raise NotImplementedError("activations.3: write LeakyRelu.__init__ (docs/ops/activations.md)")

    def forward(self, x):
        raise NotImplementedError("activations.3: write LeakyRelu.forward (docs/ops/activations.md)")

    def backward(self, dy):
        raise NotImplementedError("activations.3: write LeakyRelu.backward (docs/ops/activations.md)")
