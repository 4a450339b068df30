"""Registry entries of the reductions
(minisinga/ops/reduce.py): float64 NumPy references and sample inputs.
"""
from __future__ import annotations

import numpy as np

from ..ops.reduce import (
    ReduceMax,
    ReduceMean,
    ReduceMin,
    ReduceSum,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_sum,
)
from .registry import OpInfo, Sample, register


def _np_reduce(fn):
    def ref(x, axes=None, keepdims=1):
        ax = None if axes is None else tuple(axes) if isinstance(axes, (list, tuple)) else axes
        return fn(x, axis=ax, keepdims=bool(keepdims))
    return ref


def _samples(rng):
    x = rng.uniform(-1, 1, (2, 3, 4))
    return [Sample([x]), Sample([x], {"axes": [1]}), Sample([x], {"axes": [0, 2], "keepdims": 0}),
            Sample([x], {"axes": -1, "keepdims": 0}), Sample([rng.uniform(-1, 1, (5,))])]


register(OpInfo("reduce_sum", (ReduceSum,), reduce_sum, _np_reduce(np.sum), _samples))
register(OpInfo("reduce_mean", (ReduceMean,), reduce_mean, _np_reduce(np.mean), _samples))


def _distinct_samples(rng):
    # distinct values on a 0.05 grid: no tie within a finite-difference step
    x = (rng.permutation(24) * 0.05 - 0.6).reshape(2, 3, 4)
    return [Sample([x]), Sample([x], {"axes": [1]}), Sample([x], {"axes": [0, 2], "keepdims": 0}),
            Sample([x], {"axes": -1, "keepdims": 0}), Sample([x[0, 0]])]


register(OpInfo("reduce_max", (ReduceMax,), reduce_max, _np_reduce(np.max), _distinct_samples))
register(OpInfo("reduce_min", (ReduceMin,), reduce_min, _np_reduce(np.min), _distinct_samples))
