"""More elementwise maths: sign and rounding, erf, n-ary max and min, prelu;
and two row-wise operations, cosine similarity and the ranking loss.

The kernels are in minisinga/c/mathfn.c.  Broadcasting is decided here, as in
elementwise.py.  Derivations: docs/ops/elementwise.md, docs/ops/matmul.md
(cossim) and docs/ops/losses.md (ranking_loss).
"""
from __future__ import annotations

from .. import backend, dtypes, engine
from ..ctensor import CTensor
from ._util import check_float
from .loss import _scalar

__all__ = [
    "Sign", "Ceil", "Floor", "Round", "Rounde", "Erf", "Max", "Min", "PRelu", "CosSim",
    "RankingLoss",
    "sign", "ceil", "floor", "round", "rounde", "erf", "max", "min", "prelu", "cossim",
    "ranking_loss",
]


# ---------------------------------------------------------------- piecewise constant
class _ZeroGrad(engine.Operation):
    """A piecewise-constant function: forward is one kernel, the gradient is 0.

    The derivative is 0 wherever it exists; at the jumps (integers for floor
    and ceil, half-integers for round, 0 for sign) it does not exist, and we
    take it as 0 too, as SINGA does."""

    kernel = ""

    def forward(self, x):
        check_float(self.kernel.replace("_forward", ""), x, names=["x"])
        return backend.unary(self.kernel, x)

    def backward(self, dy):
        return backend.full(dy.shape, 0.0, dy.dtype, dy.device)


class Sign(_ZeroGrad):
    r"""Sign: ``sign(x)`` is 1, -1 or 0.

    Forward: $y = \mathrm{sign}(x)$, with $\mathrm{sign}(0) = 0$
    Grad x: $\bar{x} = 0$
    Convention: the derivative at the jump $x = 0$ is taken as 0
    Derivation: ops/elementwise.md#sign
    """

    kernel = "sign_forward"


class Ceil(_ZeroGrad):
    r"""Round up: ``ceil(x)``.

    Forward: $y = \lceil x \rceil$
    Grad x: $\bar{x} = 0$
    Convention: the derivative at the jumps (integers) is taken as 0
    Derivation: ops/elementwise.md#ceil
    """

    kernel = "ceil_forward"


class Floor(_ZeroGrad):
    r"""Round down: ``floor(x)``.

    Forward: $y = \lfloor x \rfloor$
    Grad x: $\bar{x} = 0$
    Convention: the derivative at the jumps (integers) is taken as 0
    Derivation: ops/elementwise.md#floor
    """

    kernel = "floor_forward"


class Round(_ZeroGrad):
    r"""Round to the nearest integer, halves away from zero (C's ``round``):
    ``round(x)``; round(0.5) = 1, round(-2.5) = -3.

    Forward: $y = \mathrm{sign}(x)\lfloor |x| + \tfrac{1}{2} \rfloor$
    Grad x: $\bar{x} = 0$
    Convention: the derivative at the jumps (half-integers) is taken as 0
    Derivation: ops/elementwise.md#round
    """

    kernel = "round_forward"


class Rounde(_ZeroGrad):
    r"""Round to the nearest integer, halves to even (NumPy's ``round``):
    ``rounde(x)``; rounde(0.5) = 0, rounde(1.5) = 2, rounde(2.5) = 2.

    Forward: $y$ = the integer nearest $x$; on a tie the even one
    Grad x: $\bar{x} = 0$
    Convention: the derivative at the jumps (half-integers) is taken as 0
    Derivation: ops/elementwise.md#rounde
    """

    kernel = "rounde_forward"


def sign(x):
    """1 where x > 0, -1 where x < 0, 0 where x == 0 (gradient 0)."""
    return Sign()(x)[0]


def ceil(x):
    """The smallest integer >= x, elementwise (gradient 0)."""
    return Ceil()(x)[0]


def floor(x):
    """The largest integer <= x, elementwise (gradient 0)."""
    return Floor()(x)[0]


def round(x):
    """x rounded to the nearest integer, halves away from zero (gradient 0)."""
    return Round()(x)[0]


def rounde(x):
    """x rounded to the nearest integer, halves to even (gradient 0)."""
    return Rounde()(x)[0]


# ---------------------------------------------------------------------- erf
class Erf(engine.Operation):
    r"""The error function: ``erf(x)``.  SINGA's backward uses dy in place of x
    in the derivative; this one is right.

    Forward: $y = \mathrm{erf}(x) = \frac{2}{\sqrt{\pi}}\int_0^x e^{-t^2}\,dt$
    Grad x: $\bar{x} = \bar{y}\,\frac{2}{\sqrt{\pi}} e^{-x^2}$
    Derivation: ops/elementwise.md#erf
    """

    def forward(self, x):
        check_float("erf", x, names=["x"])
        self.x = x
        return backend.unary("erf_forward", x)

    def backward(self, dy):
        return backend.grad_kernel("erf_backward", dy, self.x)


def erf(x):
    """The error function, elementwise (differentiable)."""
    return Erf()(x)[0]


# ---------------------------------------------------------------- n-ary max / min
class _Extremum(engine.Operation):
    """Shared code of Max and Min: a running update over the inputs, which
    records in ``arg`` the input that gave each output element."""

    update = ""

    def forward(self, *xs):
        opname = type(self).__name__.lower()
        if not xs:
            raise ValueError(f"{opname}: needs at least one input")
        check_float(opname, *xs)
        shape = xs[0].shape
        for x in xs[1:]:
            shape = backend.broadcast_shape(shape, x.shape, opname)
        self.shapes = [x.shape for x in xs]
        y = backend.broadcast_to(xs[0], shape).clone()
        self.arg = backend.full(shape, 0, dtypes.int32, y.device)
        update = backend.kernel(self.update, y)
        for k, x in enumerate(xs[1:], start=1):
            xk = backend.broadcast_to(x, shape)  # NOTE: keep a reference while C reads xk.ptr
            update(y.ptr, self.arg.ptr, xk.ptr, k, y.size)
        return y

    def backward(self, dy):
        select = backend.kernel("argselect_backward", dy)
        dxs = []
        for k, shape in enumerate(self.shapes):
            if not self.needs_input_grad[k]:
                dxs.append(None)
                continue
            dx = CTensor._new(dy.shape, dy.dtype, dy.device)
            select(dx.ptr, dy.ptr, self.arg.ptr, k, dy.size)
            dxs.append(backend.sum_to_shape(dx, shape))
        # SINGA's contract: one input, one gradient (not a 1-tuple)
        return tuple(dxs) if len(dxs) > 1 else dxs[0]


class Max(_Extremum):
    r"""N-ary elementwise maximum with broadcasting: ``max(x1, x2, ...)``.
    SINGA's backward returns 0/1 masks without multiplying by dy; this one
    multiplies.

    Forward: $y = \max_k x_k$
    Grad xs: $\bar{x}_k = \mathrm{unbroadcast}(\bar{y}\,[k = k^*])$, $k^*$ the first input attaining the maximum
    Convention: on a tie the whole gradient goes to the first input (in argument order) attaining the maximum
    Derivation: ops/elementwise.md#max
    """

    update = "max_update"


class Min(_Extremum):
    r"""N-ary elementwise minimum with broadcasting: ``min(x1, x2, ...)``.
    SINGA's backward returns 0/1 masks without multiplying by dy; this one
    multiplies.

    Forward: $y = \min_k x_k$
    Grad xs: $\bar{x}_k = \mathrm{unbroadcast}(\bar{y}\,[k = k^*])$, $k^*$ the first input attaining the minimum
    Convention: on a tie the whole gradient goes to the first input (in argument order) attaining the minimum
    Derivation: ops/elementwise.md#min
    """

    update = "min_update"


def max(*xs):
    """Elementwise maximum of one or more tensors, with broadcasting (differentiable;
    on a tie the gradient goes to the first input attaining the maximum)."""
    return Max()(*xs)[0]


def min(*xs):
    """Elementwise minimum of one or more tensors, with broadcasting (differentiable;
    on a tie the gradient goes to the first input attaining the minimum)."""
    return Min()(*xs)[0]


# ---------------------------------------------------------------------- prelu
class PRelu(engine.Operation):
    r"""Parametric ReLU: ``prelu(x, slope)``; slope broadcasts to x's shape.

    Forward: $y = x$ if $x \ge 0$ else $s\,x$
    Grad x: $\bar{x} = \bar{y}$ if $x \ge 0$ else $s\,\bar{y}$
    Grad slope: $\bar{s} = \mathrm{unbroadcast}(\bar{y}\,x\,[x < 0])$
    Convention: at $x = 0$ the identity branch is taken: slope 1 for x, no gradient for s
    Derivation: ops/elementwise.md#prelu
    """

    def forward(self, x, slope):
        check_float("prelu", x, slope, names=["x", "slope"])
        shape = backend.broadcast_shape(x.shape, slope.shape, "prelu")
        if shape != x.shape:
            raise ValueError(f"prelu: slope of shape {slope.shape} must broadcast to the shape "
                             f"of x {x.shape}, but together they broadcast to {shape}")
        self.x, self.slope_shape = x, slope.shape
        self.slope = backend.broadcast_to(slope, x.shape)
        y = CTensor._new(x.shape, x.dtype, x.device)
        backend.kernel("prelu_forward", x)(y.ptr, x.ptr, self.slope.ptr, x.size)
        return y

    def backward(self, dy):
        dx = CTensor._new(dy.shape, dy.dtype, dy.device)
        dslope = CTensor._new(dy.shape, dy.dtype, dy.device)
        backend.kernel("prelu_backward", dy)(dx.ptr, dslope.ptr, dy.ptr, self.x.ptr,
                                             self.slope.ptr, dy.size)
        return dx, backend.sum_to_shape(dslope, self.slope_shape)


def prelu(x, slope):
    """x where x >= 0, else slope * x; slope broadcasts to x (differentiable in both)."""
    return PRelu()(x, slope)[0]


# ---------------------------------------------------------------- cosine similarity
class CosSim(engine.Operation):
    r"""Row-wise cosine similarity of two (N, D) tensors: ``cossim(a, b)`` -> (N,).

    Forward: $y_n = \dfrac{a_n \cdot b_n}{\lVert a_n \rVert\,\lVert b_n \rVert}$
    Grad a: $\bar{a}_n = \bar{y}_n \left(\dfrac{b_n}{\lVert a_n \rVert \lVert b_n \rVert} - y_n \dfrac{a_n}{\lVert a_n \rVert^2}\right)$
    Grad b: $\bar{b}_n = \bar{y}_n \left(\dfrac{a_n}{\lVert a_n \rVert \lVert b_n \rVert} - y_n \dfrac{b_n}{\lVert b_n \rVert^2}\right)$
    Convention: a row where $a_n$ or $b_n$ is zero gives $y_n = 0$ and zero gradients
    Derivation: ops/matmul.md#cossim
    """

    def forward(self, a, b):
        check_float("cossim", a, b, names=["a", "b"])
        if len(a.shape) != 2 or a.shape != b.shape:
            raise ValueError(f"cossim: a and b must be 2-D tensors of one shape (N, D), got "
                             f"{a.shape} and {b.shape}")
        n, d = a.shape
        self.a, self.b = a, b
        self.y = CTensor((n,), a.dtype, a.device)
        self.na = CTensor((n,), a.dtype, a.device)
        self.nb = CTensor((n,), a.dtype, a.device)
        backend.kernel("cossim_forward", a)(self.y.ptr, self.na.ptr, self.nb.ptr, a.ptr,
                                            b.ptr, n, d)
        return self.y

    def backward(self, dy):
        da = CTensor._new(self.a.shape, dy.dtype, dy.device)
        db = CTensor._new(self.b.shape, dy.dtype, dy.device)
        backend.kernel("cossim_backward", dy)(da.ptr, db.ptr, dy.ptr, self.y.ptr, self.na.ptr,
                                              self.nb.ptr, self.a.ptr, self.b.ptr,
                                              *self.a.shape)
        return da, db


def cossim(a, b):
    """Cosine similarity of the rows of a and b, both (N, D) -> (N,) (differentiable)."""
    return CosSim()(a, b)[0]


# ---------------------------------------------------------------------- ranking loss
class RankingLoss(engine.Operation):
    r"""Hinge ranking loss: ``ranking_loss(pos, neg, M=0.2)``, a (1,) tensor.
    pos and neg are scores of one shape; N = pos.shape[0] is the batch (SINGA's
    rule, as for the other losses), so for (N,) or (N, 1) scores this is the
    mean of the hinge.  The upstream gradient is honoured (SINGA ignores it).

    Forward: $\ell = \frac{1}{N}\sum_i \max(0,\ M - p_i + q_i)$
    Grad pos: $\bar{p}_i = -\bar{\ell}\,[M - p_i + q_i > 0] / N$
    Grad neg: $\bar{q}_i = \bar{\ell}\,[M - p_i + q_i > 0] / N$
    Convention: at the hinge ($M - p_i + q_i = 0$) the gradient is 0
    Derivation: ops/losses.md#ranking_loss
    """

    def __init__(self, M: float = 0.2):
        super().__init__()
        if not dtypes.is_number(M):
            raise TypeError(f"ranking_loss: M must be a number, got {M!r}")
        self.M = float(M)

    def forward(self, pos, neg):
        check_float("ranking_loss", pos, neg, names=["pos", "neg"])
        if pos.shape != neg.shape or len(pos.shape) == 0 or pos.size == 0:
            raise ValueError(f"ranking_loss: pos and neg must have one non-empty shape with a "
                             f"batch axis, got {pos.shape} and {neg.shape}")
        self.pos, self.neg = pos, neg
        loss = CTensor._new((1,), pos.dtype, pos.device)
        backend.kernel("ranking_loss_forward", pos)(loss.ptr, pos.ptr, neg.ptr, self.M,
                                                    pos.size, pos.shape[0])
        return loss

    def backward(self, dy=1.0):
        dpos = CTensor._new(self.pos.shape, self.pos.dtype, self.pos.device)
        dneg = CTensor._new(self.neg.shape, self.neg.dtype, self.neg.device)
        g = _scalar(dy, dpos)
        backend.kernel("ranking_loss_backward", dpos)(dpos.ptr, dneg.ptr, g.ptr,
                                                      self.pos.ptr, self.neg.ptr, self.M,
                                                      self.pos.size, self.pos.shape[0])
        return dpos, dneg


def ranking_loss(pos, neg, M: float = 0.2):
    """sum(max(0, M - pos + neg)) / pos.shape[0], as a (1,) tensor (differentiable)."""
    return RankingLoss(M)(pos, neg)[0]
