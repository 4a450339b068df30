"""Exercises of the chapter "Layers and models" (docs/layers.md).

Check your answers with:  python -m minisinga.exercises check layers.1 layers.2 layers.3
"""
from __future__ import annotations

from minisinga import autograd, layer, tensor  # noqa: F401


class Scale(layer.Layer):
    """layers.2: y = x * gamma + beta for x (N, F), with parameters gamma (ones)
    and beta (zeros) of shape (F,), made at the first call (lazily).

    Read: docs/layers.md, "Lazy initialisation" and "Writing your own layer".
    """

    def initialize(self, x):
        raise NotImplementedError("layers.2: write Scale.initialize (docs/layers.md)")

    def forward(self, x):
        raise NotImplementedError("layers.2: write Scale.forward (docs/layers.md)")


class Residual(layer.Layer):
    """layers.3: y = x + fc2(relu(fc1(x))), fc1 = Linear(hidden) and fc2 a Linear
    back to x's number of features; get_params() names them fc1.W, fc1.b, fc2.W, fc2.b.

    Read: docs/layers.md, "Names: dotted paths".
    """

    def __init__(self, hidden: int):
        super().__init__()
        raise NotImplementedError("layers.3: write Residual (docs/layers.md)")

    def forward(self, x):
        raise NotImplementedError("layers.3: write Residual.forward (docs/layers.md)")


def count_parameters(model) -> int:
    """layers.1: the number of trainable numbers (elements of parameters) in
    ``model``, a Layer that has run once (so its parameters exist).

    Read: docs/layers.md, "Parameters and states".
    """
    raise NotImplementedError("layers.1: write count_parameters (docs/layers.md)")
