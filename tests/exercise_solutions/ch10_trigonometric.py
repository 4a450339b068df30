"""Reference solutions: docs/ops/trigonometric.md."""
from __future__ import annotations

import numpy as np


def asin_derivative(x):
    return 1.0 / np.sqrt(1.0 - x * x)


def atanh_derivative(x):
    return 1.0 / (1.0 - x * x)


def tanh_backward(y, dy):
    return dy * (1.0 - y * y)
