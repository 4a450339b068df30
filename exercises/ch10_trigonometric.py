"""Exercises of the chapter "Trigonometric and hyperbolic" (docs/ops/trigonometric.md).

Check your answers with:  python -m minisinga.exercises check trigonometric.1 trigonometric.2 trigonometric.3
"""
from __future__ import annotations

import numpy as np  # noqa: F401


def asin_derivative(x: np.ndarray) -> np.ndarray:
    """trigonometric.1: d asin(x) / dx, derived by hand, for x in (-1, 1).

    Read: docs/ops/trigonometric.md#asin.
    """
    raise NotImplementedError("trigonometric.1: write asin_derivative (docs/ops/trigonometric.md)")


def atanh_derivative(x: np.ndarray) -> np.ndarray:
    """trigonometric.2: d atanh(x) / dx, derived by hand, for x in (-1, 1).

    Read: docs/ops/trigonometric.md#atanh.
    """
    raise NotImplementedError("trigonometric.2: write atanh_derivative (docs/ops/trigonometric.md)")


def tanh_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """trigonometric.3: dL/dx of y = tanh(x), from the OUTPUT y (what the
    Operation keeps) and dy.

    Read: docs/ops/trigonometric.md.
    """
    raise NotImplementedError("trigonometric.3: write tanh_backward (docs/ops/trigonometric.md)")
