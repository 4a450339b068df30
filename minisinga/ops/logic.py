"""Comparisons (less, greater, equal), logical operators (_and, _or, _xor, _not)
and where.  Kernels: minisinga/c/logic.c.  Derivations: docs/ops/logic.md.

A comparison or logical operator returns 1.0 / 0.0 in its inputs' float type
(a nonzero input counts as true) and broadcasts like add.  Its output is
piecewise constant, so it has no gradient: in SINGA its backward asserts.
Here the output is a *constant* for autograd (``requires_grad=False``), so
``x * greater(x, 0)`` trains (the mask passes no gradient, which is the true
derivative almost everywhere), and backward never reaches the comparison;
calling its ``backward`` directly raises a RuntimeError.
"""
from __future__ import annotations

from .. import backend, checks, dtypes, engine
from .._tensor import Tensor
from ..ctensor import CTensor
from ._util import check_float, int32_operands

__all__ = ["Less", "Greater", "Equal", "And", "Or", "Xor", "Not", "Where",
           "less", "greater", "equal", "_and", "_or", "_xor", "_not", "where"]


class _Constant(engine.Operation):
    """Base of the operations without a gradient: the outputs are constants, and
    autograd neither walks into the operation nor asks it for a gradient."""

    differentiable = False
    #: why there is no gradient (for the error message of a direct backward call)
    no_grad_reason = "the output is piecewise constant"

    def backward(self, *dys):
        raise RuntimeError(f"{type(self).__name__.lower()} has no gradient: "
                           f"{self.no_grad_reason}")


class _Binary(_Constant):
    """Broadcast a and b to one shape, then one kernel writes 0/1."""

    kernel = ""

    def forward(self, a, b):
        opname = self.kernel.replace("_forward", "")
        if a.dtype == dtypes.int32 or b.dtype == dtypes.int32:  # int32 kernels exist too
            a, b = int32_operands(opname, a, b, True)
        if a.dtype != dtypes.int32:
            check_float(opname, a, b, names=["a", "b"])
        shape = backend.broadcast_shape(a.shape, b.shape, opname)
        return backend.binary(self.kernel, backend.broadcast_to(a, shape),
                              backend.broadcast_to(b, shape))


class Less(_Binary):
    r"""Elementwise a < b with broadcasting: ``less(a, b)``, 1.0 or 0.0.

    Forward: $y = [a < b]$
    No gradient: the output is piecewise constant (a constant for autograd)
    Derivation: ops/logic.md#less
    """

    kernel = "less_forward"


class Greater(_Binary):
    r"""Elementwise a > b with broadcasting: ``greater(a, b)``, 1.0 or 0.0.

    Forward: $y = [a > b]$
    No gradient: the output is piecewise constant (a constant for autograd)
    Derivation: ops/logic.md#greater
    """

    kernel = "greater_forward"


class Equal(_Binary):
    r"""Elementwise a == b (exact) with broadcasting: ``equal(a, b)``, 1.0 or 0.0.

    Forward: $y = [a = b]$
    No gradient: the output is piecewise constant (a constant for autograd)
    Derivation: ops/logic.md#equal
    """

    kernel = "equal_forward"


class And(_Binary):
    r"""Logical and, nonzero meaning true, with broadcasting: ``_and(a, b)``.

    Forward: $y = [a \ne 0 \wedge b \ne 0]$
    No gradient: the output is piecewise constant (a constant for autograd)
    Derivation: ops/logic.md#and
    """

    kernel = "and_forward"


class Or(_Binary):
    r"""Logical or, nonzero meaning true, with broadcasting: ``_or(a, b)``.

    Forward: $y = [a \ne 0 \vee b \ne 0]$
    No gradient: the output is piecewise constant (a constant for autograd)
    Derivation: ops/logic.md#or
    """

    kernel = "or_forward"


class Xor(_Binary):
    r"""Logical exclusive or, nonzero meaning true, with broadcasting: ``_xor(a, b)``.

    Forward: $y = [(a \ne 0) \ne (b \ne 0)]$
    No gradient: the output is piecewise constant (a constant for autograd)
    Derivation: ops/logic.md#xor
    """

    kernel = "xor_forward"


class Not(_Constant):
    r"""Logical not, nonzero meaning true: ``_not(x)``.

    Forward: $y = [x = 0]$
    No gradient: the output is piecewise constant (a constant for autograd)
    Derivation: ops/logic.md#not
    """

    def forward(self, x):
        if x.dtype != dtypes.int32:  # (int32 has its kernel too)
            check_float("_not", x, names=["x"])
        return backend.unary("not_forward", x)


def less(a, b):
    """1.0 where a < b else 0.0, with broadcasting (no gradient)."""
    return Less()(a, b)[0]


def greater(a, b):
    """1.0 where a > b else 0.0, with broadcasting (no gradient)."""
    return Greater()(a, b)[0]


def equal(a, b):
    """1.0 where a == b else 0.0, with broadcasting (no gradient)."""
    return Equal()(a, b)[0]


def _and(a, b):
    """1.0 where a and b are both nonzero else 0.0, with broadcasting (no gradient)."""
    return And()(a, b)[0]


def _or(a, b):
    """1.0 where a or b is nonzero else 0.0, with broadcasting (no gradient)."""
    return Or()(a, b)[0]


def _xor(a, b):
    """1.0 where exactly one of a, b is nonzero else 0.0, with broadcasting (no gradient)."""
    return Xor()(a, b)[0]


def _not(x):
    """1.0 where x == 0 else 0.0 (no gradient)."""
    return Not()(x)[0]


# ---------------------------------------------------------------------- where
def condition_ctensor(opname: str, condition, like: CTensor) -> CTensor:
    """A condition (Tensor, ndarray, nested list) as a CTensor of ``like``'s float
    type and device, nonzero meaning true."""
    if isinstance(condition, Tensor):
        c = condition.data
        if c.device is not like.device:
            raise checks.device_mismatch(opname, "condition", c.device, "x", like.device)
        return c if c.dtype == like.dtype else backend.cast(c, like.dtype)
    try:  # host data: copied over (from_numpy refuses strings, objects, complex numbers)
        return CTensor.from_numpy(condition, like.dtype, like.device)
    except TypeError as e:
        raise TypeError(f"{opname}: condition must be a Tensor, an ndarray or a (nested) list "
                        f"of bools or numbers, got {checks.shown(condition)} ({e})") from None


class Where(engine.Operation):
    r"""Choose elementwise: ``where(x, y, condition)`` is x where condition is
    nonzero, else y; the three broadcast together.  condition (a Tensor, an
    ndarray or a nested list) is data, not an input: it gets no gradient.

    Forward: $z = x$ if $c \ne 0$ else $y$
    Grad x: $\bar{x} = \mathrm{unbroadcast}(\bar{z}\,[c \ne 0])$
    Grad y: $\bar{y} = \mathrm{unbroadcast}(\bar{z}\,[c = 0])$
    Derivation: ops/logic.md#where
    """

    def __init__(self, condition):
        super().__init__()
        self.condition = condition

    def forward(self, x, y):
        check_float("where", x, y, names=["x", "y"])
        c = condition_ctensor("where", self.condition, x)
        shape = backend.broadcast_shape(x.shape, y.shape, "where")
        shape = backend.broadcast_shape(shape, c.shape, "where")
        self.x_shape, self.y_shape = x.shape, y.shape
        self.c = backend.broadcast_to(c, shape)
        # NOTE: name the broadcast copies: a .ptr does not keep its memory alive
        xb, yb = backend.broadcast_to(x, shape), backend.broadcast_to(y, shape)
        z = CTensor(shape, x.dtype, x.device)
        backend.kernel("where_forward", x)(z.ptr, self.c.ptr, xb.ptr, yb.ptr, z.size)
        return z

    def backward(self, dz):
        dx = CTensor._new(dz.shape, dz.dtype, dz.device)
        dy = CTensor._new(dz.shape, dz.dtype, dz.device)
        backend.kernel("where_backward", dz)(dx.ptr, dy.ptr, dz.ptr, self.c.ptr, dz.size)
        return backend.sum_to_shape(dx, self.x_shape), backend.sum_to_shape(dy, self.y_shape)


def where(x, y, condition):
    """x where condition is nonzero, else y; all three broadcast (differentiable in
    x and y)."""
    return Where(condition)(x, y)[0]
