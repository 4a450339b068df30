"""Registry entries of the trigonometric and hyperbolic functions
(minisinga/ops/trig.py): float64 NumPy references and sample inputs.
"""
from __future__ import annotations

import numpy as np

from ..ops.trig import (
    Acos,
    Acosh,
    Asin,
    Asinh,
    Atan,
    Atanh,
    Cos,
    Cosh,
    Sin,
    Sinh,
    Tan,
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atanh,
    cos,
    cosh,
    sin,
    sinh,
    tan,
)
from .registry import OpInfo, Sample, register


def _uniform(lo, hi, shapes=((3, 4), (5,), (2, 1, 3))):
    """Samples inside a function's domain, kept away from its edges and poles."""
    def make(rng):
        return [Sample([rng.uniform(lo, hi, s)]) for s in shapes]
    return make


register(OpInfo("sin", (Sin,), sin, np.sin, _uniform(-3, 3)))
register(OpInfo("cos", (Cos,), cos, np.cos, _uniform(-3, 3)))
register(OpInfo("tan", (Tan,), tan, np.tan, _uniform(-1.2, 1.2)))  # poles at +-pi/2
register(OpInfo("asin", (Asin,), asin, np.arcsin, _uniform(-0.9, 0.9)))
register(OpInfo("acos", (Acos,), acos, np.arccos, _uniform(-0.9, 0.9)))
register(OpInfo("atan", (Atan,), atan, np.arctan, _uniform(-3, 3)))
register(OpInfo("sinh", (Sinh,), sinh, np.sinh, _uniform(-2, 2)))
register(OpInfo("cosh", (Cosh,), cosh, np.cosh, _uniform(-2, 2)))
register(OpInfo("asinh", (Asinh,), asinh, np.arcsinh, _uniform(-3, 3)))
register(OpInfo("acosh", (Acosh,), acosh, np.arccosh, _uniform(1.1, 3)))
register(OpInfo("atanh", (Atanh,), atanh, np.arctanh, _uniform(-0.9, 0.9)))
