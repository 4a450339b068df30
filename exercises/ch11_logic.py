"""Exercises of the chapter "Comparisons, logic and where" (docs/ops/logic.md).

Check your answers with:  python -m minisinga.exercises check logic.1 logic.2 logic.3
"""
from __future__ import annotations

import numpy as np  # noqa: F401

from minisinga import autograd, tensor  # noqa: F401


def where_backward(cond: np.ndarray, dz: np.ndarray):
    """logic.1: (dx, dy) of z = autograd.where(x, y, cond), all of one shape,
    given dz.

    Read: docs/ops/logic.md#where.
    """
    raise NotImplementedError("logic.1: write where_backward (docs/ops/logic.md)")


def where_backward_broadcast(cond: np.ndarray, x_shape, y_shape, dz: np.ndarray):
    """logic.2: (dx, dy) of z = autograd.where(x, y, cond) when x, y
    and cond broadcast together; dx has x_shape and dy has y_shape.

    Read: docs/ops/logic.md#where.
    """
    raise NotImplementedError("logic.2: write where_backward_broadcast (docs/ops/logic.md)")


def piecewise(x):
    """logic.3: f(x) = x^2 where x > 0, else -x, on a Tensor, built from
    autograd.greater and autograd.where (no Operation of your own).

    Read: docs/ops/logic.md.
    """
    raise NotImplementedError("logic.3: write piecewise (docs/ops/logic.md)")
