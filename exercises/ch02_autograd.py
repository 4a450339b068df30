"""Exercises of the chapter "Automatic differentiation" (docs/autograd.md).

Check your answers with:  python -m minisinga.exercises check autograd.1 autograd.2 autograd.3
"""
from __future__ import annotations

from minisinga import autograd, backend  # noqa: F401  (you will need them)


class Cube(autograd.Operation):
    """autograd.1: y = x^3, dL/dx = 3 x^2 dL/dy, on CTensors with backend kernels.

    Read: docs/autograd.md, "Operations, and their lowercase functions"
    (and the Square example in minisinga/autograd.py's docstring).
    """

    def forward(self, x):
        raise NotImplementedError("autograd.1: write Cube.forward (docs/autograd.md)")

    def backward(self, dy):
        raise NotImplementedError("autograd.1: write Cube.backward (docs/autograd.md)")


def backward_order(y):
    """autograd.2: every Operation reachable from ``y.creator`` (the Dummy
    creators of leaves included), each once, in an order in which the backward
    pass can run them: an operation after every operation that used its outputs.

    An operation's inputs are in ``op.src``: tuples whose first item is the
    operation that made that input (None for plain data).
    Read: docs/autograd.md, "Why a topological order is needed".
    """
    raise NotImplementedError("autograd.2: write backward_order (docs/autograd.md)")


def train_step(x, t, W, lr: float) -> float:
    """autograd.3: one step of gradient descent on loss = mse_loss(x @ W, t).

    ``x``, ``t``: data Tensors; ``W``: a parameter Tensor, updated in place.
    Returns the loss (before the update) as a float.
    Read: docs/autograd.md, "A complete training step".
    """
    raise NotImplementedError("autograd.3: write train_step (docs/autograd.md)")
