"""Reductions: reduce_sum and reduce_mean over axes.  Derivations: docs/ops/shapes.md."""
from __future__ import annotations

import math

import numpy as np

from .. import autograd, backend
from ..testing import OpInfo, Sample, register
from ._util import check_float, normalize_axes

__all__ = ["ReduceSum", "ReduceMean", "reduce_sum", "reduce_mean"]


# --8<-- [start:ReduceSum]
class ReduceSum(autograd.Operation):
    r"""Sum over ``axes`` (all when None): ``reduce_sum(x, axes=None, keepdims=1)``.

    Forward: $y = \sum_{i \in \text{axes}} x_i$
    Grad x: $\bar{x} = \mathrm{broadcast}(\bar{y})$ to the shape of $x$
    Derivation: ops/shapes.md#reduce_sum
    """

    mean = False

    def __init__(self, axes=None, keepdims=1):
        super().__init__()
        self.axes, self.keepdims = axes, bool(keepdims)

    def forward(self, x):
        name = "reduce_mean" if self.mean else "reduce_sum"
        check_float(name, x, names=["x"])
        ndim = len(x.shape)
        axes = list(range(ndim)) if self.axes is None else normalize_axes(name, self.axes, ndim)
        kept = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        count = math.prod(x.shape[i] for i in axes)
        self.x_shape, self.kept = x.shape, kept
        self.scale = 1.0 / count if self.mean and count else 1.0
        if count == 0 and self.mean:
            raise ValueError(f"{name}: cannot average over axes {axes} of size 0 (x {x.shape})")
        y = backend.sum_to_shape(x, kept)
        if self.scale != 1.0:
            y = backend.scale(y, self.scale)
        elif y is x:
            y = x.clone()
        out = kept if self.keepdims else tuple(d for i, d in enumerate(x.shape) if i not in axes)
        return y.reshape(out)

    def backward(self, dy):
        g = backend.broadcast_to(dy.reshape(self.kept), self.x_shape)
        return backend.scale(g, self.scale) if self.scale != 1.0 else g.clone() if g is dy else g
# --8<-- [end:ReduceSum]


# --8<-- [start:ReduceMean]
class ReduceMean(ReduceSum):
    r"""Mean over ``axes`` (all when None): ``reduce_mean(x, axes=None, keepdims=1)``.

    Forward: $y = \frac{1}{n}\sum_{i \in \text{axes}} x_i$, $n$ the number of summed elements
    Grad x: $\bar{x} = \mathrm{broadcast}(\bar{y}) / n$
    Derivation: ops/shapes.md#reduce_mean
    """

    mean = True
# --8<-- [end:ReduceMean]


def reduce_sum(x, axes=None, keepdims=1):
    """Sum over ``axes`` (an int, a list, or None for all) (differentiable)."""
    return ReduceSum(axes, keepdims)(x)[0]


def reduce_mean(x, axes=None, keepdims=1):
    """Mean over ``axes`` (an int, a list, or None for all) (differentiable)."""
    return ReduceMean(axes, keepdims)(x)[0]


def _np_reduce(fn):
    def ref(x, axes=None, keepdims=1):
        ax = None if axes is None else tuple(axes) if isinstance(axes, (list, tuple)) else axes
        return fn(x, axis=ax, keepdims=bool(keepdims))
    return ref


def _samples(rng):
    x = rng.uniform(-1, 1, (2, 3, 4))
    return [Sample([x]), Sample([x], {"axes": [1]}), Sample([x], {"axes": [0, 2], "keepdims": 0}),
            Sample([x], {"axes": -1, "keepdims": 0}), Sample([rng.uniform(-1, 1, (5,))])]


# --8<-- [start:register_reduce_sum]
register(OpInfo("reduce_sum", (ReduceSum,), reduce_sum, _np_reduce(np.sum), _samples))
# --8<-- [end:register_reduce_sum]
# --8<-- [start:register_reduce_mean]
register(OpInfo("reduce_mean", (ReduceMean,), reduce_mean, _np_reduce(np.mean), _samples))
# --8<-- [end:register_reduce_mean]
