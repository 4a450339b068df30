"""Registry entries of the comparisons, the logical operators and where
(minisinga/ops/logic.py): float64 NumPy references and sample inputs.
"""
from __future__ import annotations

import numpy as np

from ..ops.logic import (
    And,
    Equal,
    Greater,
    Less,
    Not,
    Or,
    Where,
    Xor,
    _and,
    _not,
    _or,
    _xor,
    equal,
    greater,
    less,
    where,
)
from .registry import OpInfo, Sample, register

_NO_GRAD = "piecewise constant: the output is a constant for autograd"


def _pairs(rng):
    """Pairs with some exact ties (small integers) and broadcasting."""
    def ints(*shape):
        return rng.integers(-2, 3, shape).astype(np.float64)
    return [Sample([ints(3, 4), ints(3, 4)], note="same shape, with ties"),
            Sample([ints(2, 3), ints(3)], note="(2, 3) with (3,)"),
            Sample([rng.uniform(-1, 1, (3, 1)), rng.uniform(-1, 1, (1, 4))],
                   note="(3, 1) with (1, 4)")]


def _ref(fn):
    def ref(*xs):
        return fn(*xs).astype(np.float64)
    return ref


register(OpInfo("less", (Less,), less, _ref(np.less), _pairs, no_grad=_NO_GRAD))
register(OpInfo("greater", (Greater,), greater, _ref(np.greater), _pairs, no_grad=_NO_GRAD))
register(OpInfo("equal", (Equal,), equal, _ref(np.equal), _pairs, no_grad=_NO_GRAD))
register(OpInfo("_and", (And,), _and, _ref(np.logical_and), _pairs, no_grad=_NO_GRAD))
register(OpInfo("_or", (Or,), _or, _ref(np.logical_or), _pairs, no_grad=_NO_GRAD))
register(OpInfo("_xor", (Xor,), _xor, _ref(np.logical_xor), _pairs, no_grad=_NO_GRAD))
register(OpInfo("_not", (Not,), _not, _ref(np.logical_not),
                lambda rng: [Sample([rng.integers(-1, 2, (3, 4)).astype(np.float64)])],
                no_grad=_NO_GRAD))


def _where_samples(rng):
    return [Sample([rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (3, 4))],
                   {"condition": rng.integers(0, 2, (3, 4)).astype(bool)}, note="bool ndarray"),
            Sample([rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (3,))],
                   {"condition": [[1, 0, 1], [0, 0, 1]]}, note="nested list, y broadcast"),
            Sample([rng.uniform(-1, 1, (1, 3)), rng.uniform(-1, 1, (2, 1))],
                   {"condition": [1.0, 0.0, 2.0]}, note="all three broadcast")]


register(OpInfo("where", (Where,), where,
                lambda x, y, condition: np.where(np.asarray(condition) != 0, x, y),
                _where_samples))
