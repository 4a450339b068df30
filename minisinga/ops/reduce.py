"""Reductions: reduce_sum and reduce_mean over axes, and reduce_max / reduce_min
(an addition over SINGA; kernels in minisinga/c/mathfn.c).
Derivations: docs/ops/shapes.md."""
from __future__ import annotations

import math

from .. import backend, checks, dtypes, engine
from ..ctensor import CTensor
from ._util import check_float, normalize_axes

__all__ = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin",
           "reduce_sum", "reduce_mean", "reduce_max", "reduce_min"]


class ReduceSum(engine.Operation):
    r"""Sum over ``axes`` (all when None): ``reduce_sum(x, axes=None, keepdims=1)``.

    Forward: $y = \sum_{i \in \text{axes}} x_i$
    Grad x: $\bar{x} = \mathrm{broadcast}(\bar{y})$ to the shape of $x$
    Derivation: ops/shapes.md#reduce_sum
    """

    mean = False

    def __init__(self, axes=None, keepdims=1):
        super().__init__()
        self.axes = axes
        self.keepdims = checks.flag("reduce_mean" if self.mean else "reduce_sum", "keepdims",
                                    keepdims)

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


class ReduceMean(ReduceSum):
    r"""Mean over ``axes`` (all when None): ``reduce_mean(x, axes=None, keepdims=1)``.

    Forward: $y = \frac{1}{n}\sum_{i \in \text{axes}} x_i$, $n$ the number of summed elements
    Grad x: $\bar{x} = \mathrm{broadcast}(\bar{y}) / n$
    Derivation: ops/shapes.md#reduce_mean
    """

    mean = True


def reduce_sum(x, axes=None, keepdims=1):
    """Sum over ``axes`` (an int, a list, or None for all) (differentiable)."""
    return ReduceSum(axes, keepdims)(x)[0]


def reduce_mean(x, axes=None, keepdims=1):
    """Mean over ``axes`` (an int, a list, or None for all) (differentiable)."""
    return ReduceMean(axes, keepdims)(x)[0]


# ---------------------------------------------------------------------- reduce_max / reduce_min
class ReduceMax(engine.Operation):
    r"""Maximum over ``axes`` (all when None): ``reduce_max(x, axes=None, keepdims=1)``.
    Not in SINGA's autograd (an addition, named like reduce_sum).

    Forward: $y = \max_{i \in \text{axes}} x_i$
    Grad x: $\bar{x}_i = \bar{y}$ at the first maximum of each reduced group (row-major order), 0 elsewhere
    Convention: on a tie the whole gradient goes to the first maximum in row-major order over the reduced axes (np.argmax's choice)
    Derivation: ops/shapes.md#reduce_max
    """

    kernel = "reduce_max_forward"

    def __init__(self, axes=None, keepdims=1):
        super().__init__()
        self.axes = axes
        self.keepdims = checks.flag(self.kernel.replace("_forward", ""), "keepdims", keepdims)

    def forward(self, x):
        name = self.kernel.replace("_forward", "")
        check_float(name, x, names=["x"])
        ndim = len(x.shape)
        axes = list(range(ndim)) if self.axes is None else normalize_axes(name, self.axes, ndim)
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"{name}: cannot reduce over an axis of size 0 (x {x.shape}, "
                             f"axes {axes})")
        kept = [a for a in range(ndim) if a not in axes]
        # View x as (outer, mid, 1), the reduced axes last: when they are not
        # already last, transpose them there (their order kept, so "first" is
        # row-major order over the reduced axes).
        self.perm = kept + axes
        self.x_shape = x.shape
        xt = x if self.perm == list(range(ndim)) else backend.transpose(x, self.perm)
        self.xt_shape = xt.shape
        self.outer = math.prod(x.shape[a] for a in kept)
        self.mid = math.prod(x.shape[a] for a in axes)
        y = CTensor((self.outer,), x.dtype, x.device)
        self.arg = CTensor((self.outer,), dtypes.int32, x.device)
        backend.kernel(self.kernel, x)(y.ptr, self.arg.ptr, xt.ptr, self.outer, self.mid, 1)
        out = [1 if a in axes else d for a, d in enumerate(x.shape)] if self.keepdims else \
            [x.shape[a] for a in kept]
        return y.reshape(out)

    def backward(self, dy):
        dxt = CTensor(self.xt_shape, dy.dtype, dy.device)
        backend.kernel("reduce_arg_backward", dy)(dxt.ptr, dy.ptr, self.arg.ptr, self.outer,
                                                  self.mid, 1)
        if self.perm == list(range(len(self.perm))):
            return dxt
        inverse = [0] * len(self.perm)
        for i, p in enumerate(self.perm):
            inverse[p] = i
        return backend.transpose(dxt, inverse)


class ReduceMin(ReduceMax):
    r"""Minimum over ``axes`` (all when None): ``reduce_min(x, axes=None, keepdims=1)``.
    Not in SINGA's autograd (an addition, named like reduce_sum).

    Forward: $y = \min_{i \in \text{axes}} x_i$
    Grad x: $\bar{x}_i = \bar{y}$ at the first minimum of each reduced group (row-major order), 0 elsewhere
    Convention: on a tie the whole gradient goes to the first minimum in row-major order over the reduced axes (np.argmin's choice)
    Derivation: ops/shapes.md#reduce_min
    """

    kernel = "reduce_min_forward"


def reduce_max(x, axes=None, keepdims=1):
    """Maximum over ``axes`` (an int, a list, or None for all) (differentiable; a tie
    sends the gradient to the first maximum)."""
    return ReduceMax(axes, keepdims)(x)[0]


def reduce_min(x, axes=None, keepdims=1):
    """Minimum over ``axes`` (an int, a list, or None for all) (differentiable; a tie
    sends the gradient to the first minimum)."""
    return ReduceMin(axes, keepdims)(x)[0]
